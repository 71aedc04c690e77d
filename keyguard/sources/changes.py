"""What a commit range (a pull request) or the index adds: the changed files' new blobs are
scanned whole (so context words on unchanged lines still count); only findings on added lines
whose secret was not already in the file's old version are kept."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator

from ..model import Finding, ScanText, Stats
from .decode import Gate
from .git import MAX_BLOB_BYTES, ZERO_SHA, BlobReader, CatFileError, GitError, Repo, blob_texts, decode_path, first_line

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")

@dataclass
class Change:
    path: str
    new_blob: str
    old_blob: str | None
    added: set[int] = field(default_factory=set)  # 1-based line numbers in the new blob
    every_line: bool = False  # the diff could not be read (a corrupt old version): all lines new
    old_text: str = ""


def _diff_args(base: str | None, head: str | None) -> list[str]:
    """``base`` None: the index against HEAD, or against nothing before the first commit."""
    common = ["--no-abbrev", "-M", "--no-color", "--no-ext-diff", "--no-textconv",
              "--ignore-submodules=all"]
    if head is None:
        return [*common, "--cached", *([base] if base else [])]
    assert base is not None
    return [*common, base, head]


def read_changes(repo: Repo, base: str | None, head: str | None, stats: Stats | None = None,
                 paths: list[str] | None = None) -> list[Change]:
    """Files that ``head`` (a commit, or the index when None) adds or changes against ``base``,
    with the numbers of the lines added; only under ``paths`` (relative to the repository's
    path) when given.

    ``paths`` filter the whole diff rather than limit it (a pathspec): git pairs a renamed file
    with its old version only when it sees both paths, and the hook names only the new one."""
    wanted = _wanted(repo, paths) if paths else None
    # one git call for the pre-commit hook's sake: the raw entries (NUL-separated), an empty
    # one, then the patch, whose sections follow the entries' order
    both = repo.run("diff", "--raw", "-p", "-U0", "-z", *_diff_args(base, head), check=False)
    if both.returncode == 0:
        raw, _, patch = both.stdout.partition(b"\0\0")
        entries = _entries(raw)
        _mark_added(patch, entries)
        entries = [c for c in entries if c is not None and (wanted is None or wanted(c.path))]
    else:  # a corrupt or missing object: the entries, then each file's patch on its own
        entries = [c for c in _entries(repo.run("diff", "--raw", "-z", *_diff_args(base, head)).stdout)
                   if c is not None and (wanted is None or wanted(c.path))]
        _mark_each(repo, base, head, entries, stats)
    return [c for c in entries if c is not None and (c.added or c.every_line)]


def _wanted(repo: Repo, paths: list[str]) -> Callable[[str], bool]:
    """Whether a top-level-relative path is one of ``paths`` (relative to the repository's
    path, as git reads a pathspec) or inside one of them; a path outside the work tree is an error."""
    import os

    top = os.path.abspath(repo.toplevel)
    rels = set()
    for p in paths:
        rel = os.path.relpath(os.path.abspath(os.path.join(repo.path, p)), top).replace(os.sep, "/")
        if rel == ".." or rel.startswith("../"):
            raise GitError(f"{p}: outside the repository at {repo.toplevel}")
        rels.add(rel)
    if "." in rels:
        return lambda path: True
    return lambda path: path in rels or any(path.startswith(r + "/") for r in rels)


def _entries(raw: bytes) -> list[Change | None]:
    """A change per entry of ``diff --raw -z``; None where the patch below has a section that
    is not scanned (a deletion, a submodule, a symlink)."""
    tokens = iter(raw.split(b"\0"))
    entries: list[Change | None] = []
    for tok in tokens:
        if not tok.startswith(b":"):
            continue
        fields = tok.split()
        status = fields[-1][:1]
        path = next(tokens, b"")
        if status in (b"R", b"C"):
            path = next(tokens, b"")
        new_mode, old_sha, new_sha = fields[1], fields[2].decode(), fields[3].decode()
        if status == b"D" or not new_mode.startswith(b"10") or new_mode == b"120000":
            entries.append(None)  # still has a section in the patch below
            continue
        entries.append(Change(decode_path(path), new_sha, None if old_sha == ZERO_SHA else old_sha))
    return entries


def _mark_each(repo: Repo, base: str | None, head: str | None, entries: list[Change | None],
               stats: Stats | None) -> None:
    """Each file's patch on its own, so that one unreadable blob costs one file."""
    for ch in entries:
        if ch is None:
            continue
        # top-level-relative path: git runs at the top level, whatever the current directory
        one = repo.run("-C", repo.toplevel, "diff", "-p", "-U0", *_diff_args(base, head), "--",
                       f":(literal){ch.path}", check=False)
        if one.returncode == 0:
            _mark_added(one.stdout, [ch])
        else:  # its old version cannot be read: every line counts as added
            ch.every_line = True
            if stats is not None:
                stats.extra.setdefault("git_warnings", []).append(
                    f"git diff {ch.path}: {first_line(one.stderr)}: every line judged as added")


def _mark_added(patch: bytes, entries: list[Change | None]) -> None:
    """The added lines of each section of ``patch`` (``diff -p -U0``), one section per entry."""
    section = -1
    for line in patch.split(b"\n"):
        if line.startswith(b"diff --git ") or line.startswith(b"diff --cc "):
            section += 1
            continue
        if line.startswith(b"@@ ") and 0 <= section < len(entries):
            ch = entries[section]
            m = _HUNK.match(line.decode("ascii", "replace"))
            if ch is not None and m:
                start, count = int(m.group(1)), int(m.group(2) or 1)
                ch.added.update(range(start, start + count))


def _old_texts(reader: BlobReader, changes: list[Change], stats: Stats) -> None:
    olds = {c.old_blob: c for c in changes if c.old_blob}
    if not olds:
        return
    try:
        for sha, size, body in reader.stream(list(olds)):
            if body is not None and size is not None and size <= MAX_BLOB_BYTES:
                text = body.read().decode("utf-8", "replace")
                for c in changes:
                    if c.old_blob == sha:
                        c.old_text = text
    except CatFileError as exc:  # an unreadable old version: every added line counts as new
        stats.extra.setdefault("git_warnings", []).append(
            f"git cat-file: {exc}: old versions not read, so keys they held count as new")
        reader.close()


def change_texts(repo: Repo, changes: list[Change], stats: Stats) -> Iterator[ScanText]:
    """The new blobs' texts, once the old versions are read: one ``cat-file`` for both (the
    pre-commit hook's start-up), or a new one if the old versions killed it."""
    reader = BlobReader(repo, keep_open=True)
    try:
        _old_texts(reader, changes, stats)
        yield from blob_texts(repo, [(c.new_blob, c.path, None) for c in changes], stats, reader=reader)
    finally:
        reader.close()


def added_only(findings: list[Finding], changes: list[Change]) -> list[Finding]:
    """Findings on added lines whose secret was not already in the file's old version.

    A blob is scanned once, at its first path: its findings are judged at every changed path
    with that content (a file copied to a new name is a new file with its own old version).
    """
    by_path = {c.path: c for c in changes}
    same_blob: dict[str, list[Change]] = {}
    for c in changes:
        same_blob.setdefault(c.new_blob, []).append(c)
    kept = []
    for first in findings:
        scanned = by_path.get(first.path)
        for c in same_blob.get(scanned.new_blob, []) if scanned else []:
            f = first if c is scanned else replace(first, path=c.path, origin=dict(first.origin))
            if not c.every_line and not (set(range(f.line, max(f.line, f.end_line) + 1)) & c.added):
                continue
            if c.old_text and f.secret in c.old_text:
                continue
            kept.append(f)
    return kept


def blame(repo: Repo, findings: list[Finding], head: str, errors: list[str]) -> None:
    """The commit that last wrote each finding's line: in a range, the one that added it.

    Finding paths are relative to the top level, so git runs there whatever the current
    directory; a blame that fails is named in ``errors``, never dropped."""
    import datetime

    for f in findings:
        p = repo.run("-C", repo.toplevel, "blame", "--porcelain", "--no-textconv", "-L",
                     f"{f.line},{f.line}", head, "--", f.path, check=False)
        if p.returncode != 0:
            errors.append(f"git blame {f.path}:{f.line}: {first_line(p.stderr)}: its commit is unknown")
            continue
        lines = p.stdout.decode("utf-8", "replace").split("\n")
        info = dict(ln.split(" ", 1) for ln in lines[1:] if " " in ln and not ln.startswith("\t"))
        commit: dict[str, Any] = {"sha": lines[0].split(" ")[0], "author": info.get("author", "")}
        commit["email"] = info.get("author-mail", "").strip("<>")
        try:
            tz = info.get("author-tz", "+0000")
            offset = datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * (-1 if tz[0] == "-" else 1)
            when = datetime.datetime.fromtimestamp(int(info["author-time"]), datetime.timezone(offset))
            commit["date"] = when.isoformat()
        except (KeyError, ValueError, IndexError):
            pass
        f.commit = commit


def fetch_command(repo: Repo, ref: str, remotes: list[str]) -> str:
    """A ``git fetch`` that makes the missing ``ref`` resolvable, as the user typed it.

    ``origin/main`` is a remote-tracking ref: fetching the remote's ``main`` into it works even
    in a single-branch clone (whose refspec does not cover it). A shallow clone also needs
    history below the fetched commit to find a merge base. ``remotes`` is not empty.
    """
    deepen = " --deepen=100" if repo.shallow else ""
    remote, _, branch = ref.partition("/")
    if remote in remotes and branch:
        return f"git fetch{deepen} {remote} {branch}:refs/remotes/{remote}/{branch}"
    origin = "origin" if "origin" in remotes else remotes[0]
    if re.fullmatch(r"[0-9a-fA-F]{40}", ref):
        return f"git fetch{deepen} {origin} {ref}"
    if re.fullmatch(r"[0-9a-fA-F]{7,39}", ref) or re.search(r"[~^@:{\s]", ref):
        # a short sha or a revision expression cannot be fetched by name: fetch history
        return "git fetch --unshallow" if repo.shallow else f"git fetch {origin}"
    return f"git fetch{deepen} {origin} {ref}:{ref}"


def _commits(repo: Repo, rev: str) -> int | None:
    p = repo.run("rev-list", "--first-parent", "--count", "--end-of-options", rev, check=False)
    return int(p.stdout) if p.returncode == 0 and p.stdout.strip().isdigit() else None


def missing_ref_advice(repo: Repo, ref: str) -> str:
    """What to do about a ``--since`` ref that does not resolve, fitted to this repository:
    fetch advice only where there is something to fetch from."""
    remotes = repo.run("remote", check=False).stdout.decode("utf-8", "replace").split()
    # ``main~5`` past the root: the history is short, and fetching cannot lengthen a local branch
    m = re.fullmatch(r"(.+?)((?:[~^]\d*)+)", ref)
    if m and not repo.shallow:
        count = _commits(repo, m.group(1))
        if count is not None:
            return (f"{m.group(1)} has only {count} commit{'s' if count != 1 else ''} "
                    f"(first parents), so {ref} does not exist: name a commit within it.")
    remote, _, branch = ref.partition("/")
    if branch and remote not in remotes and not repo.run(
            "rev-parse", "--verify", "-q", f"refs/heads/{remote}", check=False).stdout:
        if not remotes:
            return (f"this repository has no remotes, so there is no {remote!r} to fetch "
                    f"{branch!r} from: compare with a local branch or commit (e.g. --since {branch}).")
        return f"there is no remote named {remote!r} (remotes: {', '.join(remotes)})."
    if not remotes:
        return "this repository has no remotes to fetch it from: name a local branch or commit."
    shallow = "The clone is shallow. " if repo.shallow else ""
    return (f"{shallow}Fetch it first: `{fetch_command(repo, ref, remotes)}`"
            + (" (actions/checkout: `fetch-depth: 0`)." if repo.shallow else "."))


def resolve_base(repo: Repo, ref: str) -> str:
    """The merge base of ``ref`` and HEAD, as the pull request's diff uses it."""
    if not repo.has_commits():
        raise GitError(f"{repo.path}: no commits yet, nothing to compare with {ref}")
    p = repo.run("rev-parse", "--verify", "-q", "--end-of-options", f"{ref}^{{commit}}", check=False)
    if p.returncode != 0:
        raise GitError(f"--since {ref}: no such commit in {repo.toplevel}. {missing_ref_advice(repo, ref)}")
    sha = p.stdout.decode().strip()
    mb = repo.run("merge-base", sha, "HEAD", check=False)
    if mb.returncode != 0:
        hint = " (shallow clone: deepen it with `git fetch --deepen=100` or `--unshallow`)" if repo.shallow else ""
        raise GitError(f"--since {ref}: no common ancestor with HEAD{hint}")
    return mb.stdout.decode().strip()


class ChangesSource:
    """What a commit range (``--since REF``: the merge base of REF and HEAD, to HEAD) or the
    index (``--staged``) adds. Scanned in this process: a change is small."""

    pool_min_items = 0
    pool_min_jobs = 1 << 30

    def __init__(self, repo: Repo, base: str | None, head: str | None, paths: list[str] | None = None) -> None:
        self.repo, self.base, self.head, self.paths = repo, base, head, paths
        self.changes: list[Change] = []

    @classmethod
    def since(cls, repo: Repo, ref: str) -> ChangesSource:
        return cls(repo, resolve_base(repo, ref), repo.out("rev-parse", "HEAD"))

    @classmethod
    def staged(cls, repo: Repo, paths: list[str] | None = None) -> ChangesSource:
        """The index against HEAD (every staged line is new without a commit); only ``paths``
        when given: the files the pre-commit hook is passed."""
        if repo.bare:
            raise GitError(f"{repo.path}: a bare repository has no index to scan (--staged)")
        # `git diff --cached` compares with HEAD, or with nothing before the first commit (every
        # staged line is new) -- no extra git call to ask which (the hook's start-up)
        return cls(repo, None, None, paths)

    def items(self, stats: Stats) -> Iterator[Change]:
        if self.head is not None:
            stats.extra["git"] = {"base": self.base, "head": self.head}
        self.changes = read_changes(self.repo, self.base, self.head, stats, self.paths)
        return iter(self.changes)

    def batches(self, items: Iterator[Change]) -> Iterator[list[Change]]:
        yield list(items)

    def stays_here(self, item: Change) -> bool:
        return True

    def texts(self, changes: Iterable[Change], stats: Stats, gate: Gate | None) -> Iterator[ScanText]:
        return change_texts(self.repo, list(changes), stats)

    def refine(self, findings: list[Finding], stats: Stats, errors: list[str]) -> list[Finding]:
        kept = added_only(findings, self.changes)
        if self.head is not None:
            blame(self.repo, kept, self.head, errors)
        return kept
