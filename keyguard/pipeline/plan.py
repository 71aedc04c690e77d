"""Which sources a scan's targets make, run through the one orchestrator.

Errors the user can act on come out as exceptions of the stage that found them (``GitError``,
``SetupError``, ``WebError``, ``PlanError``); the command line turns each into one line.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable

from ..model import ScanResult, Stats
from ..sources import is_url
from .run import run
from .scanner import Detection, Source

if TYPE_CHECKING:
    from ..config.project import Setup
    from ..findings.baseline import Baseline
    from ..sources.web import Limits


class PlanError(Exception):
    """The targets and options do not make a scan (one line for the user)."""


def detection_for(s: Setup) -> Detection:
    from ..config.project import packs_for

    return Detection(s.rules, packs_for(s))


def _keep(shard: tuple[int, int] | None) -> Callable[[str], bool] | None:
    if shard is None:
        return None
    from .shard import in_shard

    return lambda path: in_shard(path, *shard)


def scan_targets(targets: list[str], s: Setup, baseline: Baseline | None = None,
                 include_vendored: bool = False, jobs: int = 1, shard: tuple[int, int] | None = None,
                 limits: Limits | None = None, seen: set[str] | None = None) -> ScanResult:
    """Files, directories, ``-`` and URLs. ``seen`` collects the paths of the files walked."""
    from ..config.project import suppressor_for
    from ..sources.files import FilesSource, TargetError, check_targets, is_git_dir

    paths = [t for t in targets if not is_url(t)]
    urls = [t for t in targets if is_url(t)]
    try:
        check_targets(paths)
    except TargetError as exc:
        raise PlanError(str(exc)) from None
    for d in paths:
        if d != "-" and os.path.isdir(d) and is_git_dir(d):
            raise PlanError(f"{d}: a git repository's own directory (bare repository or .git): its "
                            "files are git objects, which a directory scan cannot read; use "
                            f"`keyguard scan {d} --history` (or --since REF)")
    if urls and shard is not None:
        raise PlanError("--shard splits files and --history, not a URL scan")
    suppressor = suppressor_for(s, baseline)
    sources: list[Source] = []
    files = FilesSource(paths, include_vendored, _keep(shard)) if paths else None
    if files is not None:
        sources.append(files)
    if urls:
        from ..sources.web import Limits, WebSource

        sources.append(WebSource(urls, limits or Limits()))
    one_dir = len(targets) == 1 and paths and paths[0] != "-" and os.path.isdir(paths[0])
    root = os.path.abspath(paths[0]) if one_dir else None
    result = run(sources, detection_for(s), Stats(), jobs, root, suppressor)
    if seen is not None and files is not None:
        seen.update(files.seen)
    return result


def scan_agents(home: str, s: Setup, baseline: Baseline | None = None,
                codex_home: str | None = None, on_location: Callable[..., None] | None = None) -> ScanResult:
    """``scan --agents``: the agent configs and transcripts under ``home`` (read-only); the
    summary per agent lands in ``stats.extra["agents"]``."""
    from ..config.project import suppressor_for
    from ..sources.agents import AgentsSource

    source = AgentsSource(home, codex_home, on_location)
    return run([source], detection_for(s), Stats(), 1, None, suppressor_for(s, baseline))


def scan_git(target: str, mode: str, ref: str | None, s: Setup, baseline: Baseline | None = None,
             jobs: int = 1, shard: tuple[int, int] | None = None,
             paths: list[str] | None = None) -> ScanResult:
    """``mode``: ``history`` (every blob of every ref; ``shard`` splits it by path), ``since``
    (what REF..HEAD adds) or ``staged`` (what the index adds; under ``paths`` only, if given).
    Raises ``GitError``."""
    from ..config.project import suppressor_for
    from ..sources import git

    if shard is not None and mode != "history":
        raise PlanError(f"--shard splits a directory scan or --history, not --{mode}")
    suppressor = suppressor_for(s, baseline)
    stats = Stats()
    repo = git.open_repo(target)
    if repo.shallow:
        stats.extra.setdefault("git_warnings", []).append(
            "shallow clone: history before the cut is not scanned (`git fetch --unshallow`)")
    sources: list[Source] = []
    if mode == "history":
        if repo.has_commits() or repo.run("for-each-ref", "--count=1").stdout:
            from ..sources.history import HistorySource

            sources.append(HistorySource(repo, _keep(shard), jobs))
    else:
        from ..sources.changes import ChangesSource

        if mode == "since":
            assert ref is not None
            sources.append(ChangesSource.since(repo, ref))
        else:
            sources.append(ChangesSource.staged(repo, paths))
    result = run(sources, detection_for(s), stats, jobs, repo.toplevel, suppressor)
    result.errors.extend(result.stats.extra.pop("git_warnings", []))
    return result


def scan_actions_logs(api: Any, repo: str, runs: int, s: Setup,
                      baseline: Baseline | None = None) -> ScanResult:
    """The logs of OWNER/REPO's ``runs`` latest GitHub Actions runs (``api``: a GitHub API
    client). Raises ``ForgeError`` when the runs cannot be listed."""
    from ..config.project import suppressor_for
    from ..sources.actions_logs import ActionsLogsSource

    return run([ActionsLogsSource(api, repo, runs)], detection_for(s), Stats(), 1, None,
               suppressor_for(s, baseline))
