"""Hostile repositories: corrupt objects, missing packs, a ``.git`` file pointing nowhere, huge
binary blobs, long histories, and config, hooks or attributes that try to run code.

Every case: keyguard never runs the repo's code, the scan goes on with a clear message (no
traceback), keys in intact objects are found, and the JSON stats say what was skipped and why.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from ..helpers import key, keyguard, write
from ..sources.test_git import ENV, commit, git, repo, sha256  # noqa: F401 - repo: a fixture


def scan(repo: Path, *args: str) -> tuple[int, dict, str]:
    p = keyguard("scan", *args, "--format", "json", cwd=repo)
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode in (0, 1), p.stderr
    return p.returncode, json.loads(p.stdout), p.stderr


def found(doc: dict) -> set[str]:
    return {f["secret_sha256"] for f in doc["findings"]}


def loose(repo: Path, sha: str) -> Path:
    obj = repo / ".git" / "objects" / sha[:2] / sha[2:]
    obj.chmod(0o644)
    return obj


# -- code the repo would like us to run ----------------------------------------------------------
EVIL_CONFIG = [  # (key, what it is) - each value is a script that leaves a marker named after it
    "core.fsmonitor", "core.pager", "pager.log", "pager.diff", "pager.blame", "diff.external",
    "core.sshCommand", "uploadpack.packObjectsHook", "core.alternateRefsCommand", "core.askPass",
    "core.editor", "sequence.editor", "credential.helper", "gpg.program", "gpg.ssh.program",
    "diff.evil.textconv", "diff.evil.command", "filter.evil.clean", "filter.evil.smudge",
    "filter.evil.process", "merge.evil.driver",
]
EVIL_HOOKS = [
    "post-checkout", "pre-commit", "post-commit", "reference-transaction", "post-index-change",
    "fsmonitor-watchman", "pre-auto-gc", "post-rewrite", "pre-push",
]


def _evil_script(bin_dir: Path, markers: Path, name: str) -> str:
    script = bin_dir / name.replace("/", "_")
    script.write_text(f"#!/bin/sh\ntouch '{markers / name.replace('/', '_')}'\n")
    script.chmod(0o755)
    return str(script)


def test_config_hooks_filters_and_promisor_remotes_never_run(repo: Path, tmp_path: Path) -> None:
    """The repo's config, hooks, attributes and promisor remote all name programs; every scan
    mode (and a plain directory scan) reads the repo without running any of them."""
    markers, bin_dir = tmp_path / "markers", tmp_path / "bin"
    markers.mkdir()
    bin_dir.mkdir()
    old_key, new_key, staged_key = (key("google-api-key", 700 + i) for i in range(3))
    write(repo / "old.py", f'GEMINI_API_KEY = "{old_key}"\n')
    write(repo / "lost.txt", "this version's blob goes missing\n")
    commit(repo, "one")
    lost = git(repo, "rev-parse", "HEAD:lost.txt")
    write(repo / "lost.txt", "second version\n")
    commit(repo, "two")
    write(repo / "new.py", f'GEMINI_API_KEY = "{new_key}"\n')
    commit(repo, "three")
    write(repo / "staged.py", f'GEMINI_API_KEY = "{staged_key}"\n')
    git(repo, "add", "staged.py")

    # now turn the repo hostile
    for name in EVIL_CONFIG:
        git(repo, "config", name, _evil_script(bin_dir, markers, name))
    git(repo, "config", "log.showSignature", "true")
    git(repo, "config", "core.hooksPath", str(repo / ".git" / "evil-hooks"))
    for hooks in (repo / ".git" / "hooks", repo / ".git" / "evil-hooks"):
        hooks.mkdir(exist_ok=True)
        for hook in EVIL_HOOKS:
            shutil.copy(_evil_script(bin_dir, markers, f"hook-{hook}"), hooks / hook)
    write(repo / ".gitattributes", "* diff=evil filter=evil merge=evil\n")
    # a partial clone: a missing object is fetched from the promisor remote, over a transport
    # the repo's own config allows (``ext::`` runs a command)
    git(repo, "config", "core.repositoryformatversion", "1")
    git(repo, "config", "extensions.partialClone", "origin")
    git(repo, "config", "remote.origin.promisor", "true")
    git(repo, "config", "remote.origin.url", f"ext::sh -c touch% {markers / 'promisor-ext'}")
    git(repo, "config", "protocol.ext.allow", "always")
    git(repo, "config", "remote.ssh.url", "ssh://example.invalid/x")
    git(repo, "config", "remote.ssh.promisor", "true")
    git(repo, "config", "protocol.ssh.allow", "always")
    loose(repo, lost).unlink()
    # a worktree file that differs from the index, so that a refresh would want to run filters
    write(repo / "new.py", f'GEMINI_API_KEY = "{new_key}"\n# edited\n')

    code, doc, _ = scan(repo, "--history")
    assert code == 1 and found(doc) == {sha256(old_key), sha256(new_key)}
    assert doc["stats"]["skipped"] == {"missing git object (corrupt or shallow repository)": 1}
    assert doc["stats"]["skipped_paths"][0]["path"] == f"lost.txt (blob {lost[:12]})"
    code, doc, _ = scan(repo, "--since", "HEAD~1")
    assert code == 1 and found(doc) == {sha256(new_key)}
    code, doc, _ = scan(repo, "--staged")
    assert code == 1 and found(doc) == {sha256(staged_key)}
    code, doc, _ = scan(repo, ".")
    assert code == 1 and found(doc) == {sha256(old_key), sha256(new_key), sha256(staged_key)}
    ran = sorted(p.name for p in markers.iterdir())
    assert ran == [], f"keyguard ran the scanned repo's programs: {ran}"
    # the check can fail: plain git, asked to read the missing blob, does run the promisor's command
    subprocess.run(["git", "-C", str(repo), "cat-file", "-p", lost], capture_output=True, env=ENV,
                   stdin=subprocess.DEVNULL, timeout=60)
    assert (markers / "promisor-ext").exists()


# -- broken object stores ------------------------------------------------------------------------
def _two_files(repo: Path, seed: int) -> tuple[str, str]:
    k = key("google-api-key", seed)
    write(repo / "good.py", f'GEMINI_API_KEY = "{k}"\n')
    write(repo / "victim.txt", "the object store will lose this blob\n" * 20)
    commit(repo, "two files")
    return k, git(repo, "rev-parse", "HEAD:victim.txt")


def test_loose_object_overwritten_with_garbage(repo: Path) -> None:
    k, victim = _two_files(repo, 710)
    loose(repo, victim).write_bytes(os.urandom(300))
    code, doc, _ = scan(repo, "--history")
    assert code == 1 and found(doc) == {sha256(k)}
    (skipped,) = doc["stats"]["skipped_paths"]
    assert skipped["path"] == f"victim.txt (blob {victim[:12]})"
    assert "unreadable git object" in skipped["reason"] or "missing git object" in skipped["reason"]


def test_loose_blob_with_truncated_zlib(repo: Path) -> None:
    k, victim = _two_files(repo, 711)
    obj = loose(repo, victim)
    data = obj.read_bytes()
    assert zlib.decompress(data).startswith(b"blob ")
    obj.write_bytes(data[: len(data) // 2])
    code, doc, _ = scan(repo, "--history")
    assert code == 1 and found(doc) == {sha256(k)}
    (skipped,) = doc["stats"]["skipped_paths"]
    assert skipped["path"] == f"victim.txt (blob {victim[:12]})"
    assert "git object" in skipped["reason"]
    # --since and --staged over the broken blob: one line, exit 2 or the same skip
    write(repo / "more.py", "x = 1\n")
    commit(repo, "more")
    code, doc, _ = scan(repo, "--since", "HEAD~1")
    assert code == 0 and doc["findings"] == []


def test_missing_pack(repo: Path) -> None:
    """The old history lives in a pack that was deleted; the newer loose objects are read."""
    old = key("google-api-key", 720)
    write(repo / "old.py", f'GEMINI_API_KEY = "{old}"\n')
    commit(repo, "old")
    git(repo, "gc", "-q")
    packs = list((repo / ".git/objects/pack").glob("*.pack"))
    assert packs
    new = key("google-api-key", 721)
    write(repo / "new.py", f'GEMINI_API_KEY = "{new}"\n')
    commit(repo, "new")
    for pack in packs:
        pack.chmod(0o644)
        pack.unlink()  # its .idx stays: git believes in objects it cannot read
    code, doc, err = scan(repo, "--history")
    assert found(doc) == {sha256(new)}
    assert doc["errors"] and all("\n" not in e for e in doc["errors"]), doc["errors"]
    for idx in (repo / ".git/objects/pack").glob("*.idx"):
        idx.unlink()  # now the objects are simply gone
    code, doc, err = scan(repo, "--history")
    assert found(doc) == {sha256(new)}
    assert doc["errors"]


def test_dot_git_file_pointing_nowhere(tmp_path: Path) -> None:
    work = tmp_path / "work"
    k = key("google-api-key", 730)
    write(work / "app.py", f'GEMINI_API_KEY = "{k}"\n')
    (work / ".git").write_text("gitdir: /nonexistent/keyguard-test\n")
    for args in (("--history",), ("--since", "main"), ("--staged",)):
        p = keyguard("scan", *args, cwd=work)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr
        (line,) = p.stderr.strip().splitlines()
        assert ".git file points to a missing repository" in line
    code, doc, _ = scan(work, ".")  # a directory scan does not care
    assert code == 1 and found(doc) == {sha256(k)}


def test_huge_binary_blob_is_streamed_and_a_normal_key_is_found(repo: Path) -> None:
    """50 MB of random bytes in history: streamed in chunks (never held whole), and the small file's
    key beside it is still found."""
    big = repo / "model.bin"
    with big.open("wb") as fh:
        for _ in range(50):
            fh.write(os.urandom(1 << 20))
    k = key("google-api-key", 740)
    write(repo / "app.py", f'GEMINI_API_KEY = "{k}"\n')
    commit(repo, "weights and app")
    big.unlink()
    code, doc, _ = scan(repo, "--history")
    assert code == 1 and found(doc) == {sha256(k)}
    assert doc["stats"]["files"] == 2 and doc["stats"]["bytes"] >= 50 << 20


# -- long histories ------------------------------------------------------------------------------
def fast_import(repo: Path, commits: int, planted: str) -> None:
    """``commits`` commits over 50 paths, built by ``git fast-import``; the key in the middle."""
    def stream():
        for i in range(1, commits + 1):
            body = f"line {i}\n" if i != commits // 2 else f'GEMINI_API_KEY = "{planted}"\n'
            data = body.encode()
            yield (b"commit refs/heads/main\ncommitter A <a@example.test> %d +0000\ndata 2\nc\n"
                   b"M 644 inline f%d.py\ndata %d\n%s\n" % (1_600_000_000 + i, i % 50, len(data), data))
    p = subprocess.Popen(["git", "-C", str(repo), "fast-import", "--quiet"], stdin=subprocess.PIPE, env=ENV)
    assert p.stdin
    for chunk in stream():
        p.stdin.write(chunk)
    p.stdin.close()
    assert p.wait() == 0


PEAK_RSS_PROBE = """
import resource, subprocess, sys
p = subprocess.run([sys.executable, "-m", "keyguard", "scan", "--history", "--format", "json"],
                   cwd=sys.argv[1], capture_output=True)
print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stdout.write(p.stdout.decode())
sys.stderr.write(p.stderr.decode())
"""


def scan_with_peak_rss(repo: Path) -> tuple[dict, int]:
    """The JSON report and the peak RSS (KiB) of keyguard and its git children."""
    p = subprocess.run([sys.executable, "-c", PEAK_RSS_PROBE, str(repo)], capture_output=True, text=True,
                       timeout=300)
    head, _, doc = p.stdout.partition("\n")
    code, rss = head.split()
    assert code == "1" and "Traceback" not in p.stderr, p.stderr
    return json.loads(doc), int(rss)


def test_100k_commit_history_in_bounded_memory(tmp_path: Path) -> None:
    """10k vs 100k commits (built with ``git fast-import``; bench/long_history.py prints the
    numbers): every blob is read, the planted key is found, and peak memory grows only by
    bookkeeping per commit (about 1 KiB here), never by holding contents: a generous bound of
    4 KiB per extra commit and 512 MiB in all."""
    k = key("google-api-key", 750)
    peaks = []
    for n in (10_000, 100_000):
        r = tmp_path / f"h{n}"
        r.mkdir()
        git(r, "init", "-q", "-b", "main")
        fast_import(r, n, k)
        doc, rss = scan_with_peak_rss(r)
        assert found(doc) == {sha256(k)}
        assert doc["stats"]["git"] == {"commits": n, "blobs": n} and doc["stats"]["files"] == n
        peaks.append(rss)
    assert peaks[1] - peaks[0] < 90_000 * 4 and peaks[1] < 512 * 1024, peaks


@pytest.mark.parametrize("mode", ["--since", "--staged"])
def test_a_corrupt_old_version_in_the_diff_costs_only_its_file(repo: Path, mode: str) -> None:
    """`git diff -p` stops at an unreadable object: each file is then diffed on its own, and a
    file whose old version cannot be read has every line judged as added."""
    write(repo / "victim.py", "print('old version')\n" * 5)
    write(repo / "other.py", "x = 1\n")
    commit(repo, "base")
    old = git(repo, "rev-parse", "HEAD:victim.py")
    in_victim, in_other = key("google-api-key", 720), key("openai-project-key", 721)
    write(repo / "victim.py", "print('old version')\n" * 5 + f'GEMINI_API_KEY = "{in_victim}"\n')
    write(repo / "other.py", f'x = 1\nOPENAI_API_KEY = "{in_other}"\n')
    git(repo, "add", "-A")
    if mode == "--since":
        commit(repo, "keys")
    loose(repo, old).write_bytes(os.urandom(200))
    code, doc, _ = scan(repo, *(["--since", "HEAD~1"] if mode == "--since" else ["--staged"]))
    assert code == 1 and found(doc) == {sha256(in_victim), sha256(in_other)}
    assert any("victim.py" in e and "every line judged as added" in e for e in doc["errors"]), doc["errors"]
