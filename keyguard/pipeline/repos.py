"""Remote repositories as a source: a repository cloned and its history (or a range) scanned
by the one orchestrator (``plan.scan_git``); many of them, one report: each repository one
task (in this process, or on a Dask cluster: ``dask``), its JSON report kept in a state
directory, and the reports merged.

A task gets only plain values (``RepoJob``, ``ScanOptions``) and returns a plain dict, so it runs
the same on any worker; it reads its token from its own environment (a token never travels in a
task). The state directory holds one report per repository, named after it and keyed by a
digest of its refs and one of the scan's settings: a rerun skips a repository whose refs have
not moved (scanned the same way), so an interrupted organisation scan resumes where it stopped. Reports are written atomically, and a repository
that fails is named in ``errors`` and retried by the next run.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator
from urllib.parse import quote

from ..config.project import Overrides

if TYPE_CHECKING:
    from ..model import ScanResult

STATE_REPORTS = "repos"
STATE_CLONES = ".clones"  # clones in progress: a killed run's leftovers are removed by the next


@dataclass(frozen=True)
class ScanOptions:
    """What every repository's scan needs, as plain values a worker can receive."""

    overrides: Overrides = field(default_factory=Overrides)
    baseline_files: tuple[str, ...] = ()
    mode: str = "history"  # or "since"
    since: str | None = None
    depth: int | None = None
    max_bytes: int = 2 * 1024 * 1024 * 1024
    clone_seconds: float = 900.0
    token_hosts: tuple[tuple[str, str], ...] = ()  # host -> environment variable with its token
    tmp_root: str | None = None
    # a digest of everything above that changes findings (and of the files named): a kept
    # report counts only for the same refs scanned with the same settings
    settings: str = ""


@dataclass(frozen=True)
class RepoJob:
    name: str
    url: str
    known: str | None = None  # "REFS/SETTINGS" digests of the report already in the state directory


_PREPARED: dict[str, Any] = {}  # per process: the setup and baselines, built once for many tasks


def prepared(opts: ScanOptions) -> tuple[Any, Any]:
    """(Setup, accepted baseline) for ``opts``, as a worker builds them from plain values."""
    from ..config.project import read_baselines, setup

    key = repr((opts.overrides, opts.baseline_files))
    if key not in _PREPARED:
        s = setup((".",), opts.overrides, use_baseline=False)
        _PREPARED[key] = (s, read_baselines(list(opts.baseline_files)))
    return _PREPARED[key]


def scan_remote(url: str, opts: ScanOptions, s: Any, baseline: Any, jobs: int = 1,
                refs: dict[str, str] | None = None) -> ScanResult:
    """One remote repository: cloned, scanned by the one orchestrator, its findings naming it.
    Raises ``RemoteError``, ``GitError``, ``PlanError``."""
    from ..model import ScanResult, Stats
    from ..sources.remote import cloned, parse_remote, token_for
    from .plan import detection_for, scan_git

    remote = parse_remote(url)
    if refs is not None and not refs:  # an empty repository: nothing to clone
        return ScanResult([], Stats(), detection_for(s).all_rules)
    token = token_for(remote.host, dict(opts.token_hosts))
    with cloned(remote, token, opts.depth, opts.max_bytes, opts.clone_seconds, opts.tmp_root) as path:
        result = scan_git(path, opts.mode, opts.since, s, baseline, jobs)
    result.root = None  # the clone is gone: paths are the repository's
    for f in result.findings:
        f.origin["repository"] = remote.shown
        f.root = None
    return result


def settings_digest(opts: ScanOptions) -> str:
    """What a kept report was made with: keyguard's version, the options, and the bytes of every
    file they name (config, rules, baselines)."""
    import hashlib

    from .. import __version__

    h = hashlib.sha256(repr((__version__, opts.overrides, opts.baseline_files, opts.mode, opts.since,
                             opts.depth)).encode())
    o = opts.overrides
    for path in (o.config_file, *o.extra_rules, *opts.baseline_files):
        for name in _files(path):
            try:
                with open(name, "rb") as fh:
                    h.update(name.encode("utf-8", "surrogateescape") + b"\0" + fh.read())
            except OSError:
                h.update(b"unreadable " + name.encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:32]


def _files(path: str | None) -> list[str]:
    if not path:
        return []
    if os.path.isdir(path):
        return sorted(os.path.join(d, n) for d, _, names in os.walk(path) for n in names)
    return [path]


def scan_repository(job: RepoJob, opts: ScanOptions) -> dict[str, Any]:
    """Clone and scan one repository: ``{"name", "status": scanned|unchanged|failed, ...}``.
    Never raises for a repository that cannot be scanned (its error is in the answer)."""
    from ..config.project import SetupError
    from ..report import render
    from ..sources.git import GitError
    from ..sources.remote import RemoteError, ls_remote, parse_remote, refs_key, token_for
    from .plan import PlanError

    out: dict[str, Any] = {"name": job.name, "url": job.url}
    try:
        remote = parse_remote(job.url)
        out["url"] = remote.shown
        refs = ls_remote(remote, token_for(remote.host, dict(opts.token_hosts)))
        key = refs_key(refs)
        if job.known == f"{key}/{opts.settings}":
            return {**out, "status": "unchanged", "key": key}
        s, baseline = prepared(opts)
        result = scan_remote(job.url, opts, s, baseline, 1, refs)
        doc = json.loads(render("json", result))
        doc["repository"] = {"name": job.name, "url": remote.shown, "head": refs.get("HEAD"),
                             "refs": key, "settings": opts.settings}
        return {**out, "status": "scanned", "key": key, "report": doc}
    except (RemoteError, GitError, SetupError, PlanError) as exc:
        return {**out, "status": "failed", "error": f"{job.name}: {exc}"}
    except Exception as exc:  # a bug: this repository fails, the others go on
        return {**out, "status": "failed",
                "error": f"{job.name}: internal error ({type(exc).__name__}); please report it"}


class State:
    """``--state DIR``: one JSON report per repository, kept between runs."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.reports = os.path.join(path, STATE_REPORTS)
        self.clones = os.path.join(path, STATE_CLONES)
        os.makedirs(self.reports, exist_ok=True)
        shutil.rmtree(self.clones, ignore_errors=True)
        os.makedirs(self.clones, exist_ok=True)

    def report_path(self, name: str) -> str:
        return os.path.join(self.reports, quote(name, safe="") + ".json")

    def load(self, name: str) -> dict[str, Any] | None:
        try:
            with open(self.report_path(name), encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError):
            return None  # none yet, or unreadable: scanned again
        ok = isinstance(doc, dict) and isinstance(doc.get("findings"), list) \
            and isinstance(doc.get("repository"), dict)
        return doc if ok else None

    def known(self, name: str) -> str | None:
        doc = self.load(name)
        return f"{doc['repository'].get('refs')}/{doc['repository'].get('settings')}" if doc else None

    def save(self, name: str, doc: dict[str, Any]) -> None:
        from ..atomic import write_output

        write_output(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", self.report_path(name))

    def close(self) -> None:
        shutil.rmtree(self.clones, ignore_errors=True)


Executor = Callable[[Callable[..., dict[str, Any]], list[RepoJob], ScanOptions], Iterator[dict[str, Any]]]


def in_process(fn: Callable[..., dict[str, Any]], jobs: list[RepoJob],
               opts: ScanOptions) -> Iterator[dict[str, Any]]:
    for job in jobs:
        yield fn(job, opts)


class Progress:
    """One line across repositories on standard error, only on a terminal."""

    def __init__(self, total: int) -> None:
        self.on, self.total = sys.stderr.isatty(), total
        self.done = self.unchanged = self.failed = self.findings = 0

    def update(self, out: dict[str, Any]) -> None:
        self.done += 1
        self.unchanged += out["status"] == "unchanged"
        self.failed += out["status"] == "failed"
        self.findings += len((out.get("report") or {}).get("findings") or [])
        if self.on:
            sys.stderr.write(f"\rkeyguard: {self.done}/{self.total} repositories ({self.unchanged} "
                             f"unchanged, {self.failed} failed), {self.findings} new findings: "
                             f"{out['name'][:50]}\x1b[K")
            sys.stderr.flush()

    def clear(self) -> None:
        if self.on:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def scan_repositories(repos: Iterable[tuple[str, str]], opts: ScanOptions, state: State | None = None,
                      executor: Executor = in_process) -> dict[str, Any]:
    """(name, clone URL) pairs scanned into one merged JSON report."""
    from ..report.merge import merge_json

    jobs = [RepoJob(name, url, state.known(name) if state else None) for name, url in repos]
    docs: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    counts = {"scanned": 0, "unchanged": 0, "failed": 0}
    progress = Progress(len(jobs))
    try:
        for out in executor(scan_repository, jobs, opts):
            name, status = out["name"], out["status"]
            if status == "scanned":
                docs[name] = out["report"]
                if state is not None:
                    state.save(name, out["report"])
            elif status == "unchanged" and state is not None and (doc := state.load(name)):
                docs[name] = doc
            else:
                status = "failed"
                errors.append(out.get("error") or f"{name}: report lost")
            counts[status] += 1
            progress.update({**out, "status": status})
    finally:
        progress.clear()
    if docs:
        merged = merge_json([docs[n] for n in sorted(docs)])
    else:
        merged = {"version": None, "findings": [], "stats": {"findings": 0}, "errors": []}
    merged["findings"].sort(key=_finding_order)
    merged["errors"] = sorted(errors) + merged["errors"]
    merged["stats"]["repositories"] = counts
    if merged.get("version") is None:
        from .. import __version__

        merged["version"] = __version__
    return merged


def _finding_order(f: dict[str, Any]) -> tuple:
    return ((f.get("origin") or {}).get("repository") or "", f.get("path") or "", f.get("line") or 0,
            f.get("column") or 0, f.get("rule_id") or "", (f.get("commit") or {}).get("sha") or "")


def render_text(doc: dict[str, Any]) -> str:
    """A merged report for people: findings grouped by repository, then errors."""
    out: list[str] = []
    current = None
    for f in doc["findings"]:
        repo = (f.get("origin") or {}).get("repository") or ""
        if repo != current:
            current = repo
            out.append(_printable(repo))
        sha = (f.get("commit") or {}).get("sha") or ""
        out.append(f"  {str(f.get('severity', '')).upper():8}  {_printable(f.get('path'))}:{f.get('line')}:"
                   f"{f.get('column')}  {f.get('name')}  {f.get('redacted')}"
                   + (f"  (commit {sha[:10]})" if sha else ""))
    counts = doc["stats"].get("repositories", {})
    out.append(f"{len(doc['findings'])} findings in {sum(counts.values())} repositories "
               f"({counts.get('scanned', 0)} scanned, {counts.get('unchanged', 0)} unchanged, "
               f"{counts.get('failed', 0)} failed)")
    out += [f"error: {_printable(e)}" for e in doc.get("errors", [])]
    return "\n".join(out) + "\n"


def _printable(s: Any) -> str:
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in str(s))
