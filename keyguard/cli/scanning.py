"""What ``keyguard scan`` does once its options are parsed: which scan (files, a site, git
history or changes, a remote source, the agents' locations), the report and the exit code.
No click here: the pre-commit hook's fast path (``keyguard.entry``) runs ``execute`` without
loading the command line."""
from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any

from .common import KeyguardError, emit_report, exit_for, report_format, setup_for, use_color
from ..sources import is_url

if TYPE_CHECKING:
    from ..config.project import Setup
    from ..findings.baseline import Baseline
    from ..model import ScanResult
    from ..sources.web import Limits

PREFIXES = ("github:", "gitlab:")


def say(line: str) -> None:
    sys.stderr.write(line + "\n")


def is_remote(targets: tuple[str, ...], history: bool, since_ref: str | None) -> bool:
    if not targets:
        return False
    first = targets[0]
    if first.startswith(PREFIXES):
        return True
    # any URL (ssh://, git://: refused with a reason) or scp-like git@host:path, not a local path
    looks_remote = re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://|[\w.-]+@[\w.-]+:", first) is not None
    return looks_remote and (history or since_ref is not None) and not os.path.exists(first)



def web_limits(max_pages: int | None = None, max_mb: int | None = None, max_time: int | None = None,
               timeout: int | None = None, max_depth: int | None = None, cross_origin: bool = False) -> Limits:
    from ..sources.web import Limits

    return Limits(
        max_pages=max_pages or Limits.max_pages,
        max_bytes=(max_mb or Limits.max_bytes // 2**20) * 2**20,
        max_seconds=max_time or Limits.max_seconds,
        timeout=timeout or Limits.timeout,
        max_depth=Limits.max_depth if max_depth is None else max_depth,
        same_origin=not cross_origin,
    )


def speed(jobs: int | None, shard: str | None) -> tuple[int, tuple[int, int] | None]:
    from ..pipeline.executor import default_jobs
    from ..pipeline.shard import parse_shard

    parsed = None
    if shard:
        try:
            parsed = parse_shard(shard)
        except ValueError as exc:
            raise KeyguardError(f"--shard: {exc}") from None
    return int(jobs or default_jobs()), parsed


def git_mode(targets: tuple[str, ...], history: bool, since_ref: str | None, staged: bool) -> str | None:
    chosen = [name for name, on in (("--history", history), ("--since", since_ref is not None),
                                    ("--staged", staged)) if on]
    if not chosen:
        return None
    if len(chosen) > 1:
        raise KeyguardError(f"{' and '.join(chosen)}: choose one")
    if chosen[0] == "--staged" and staged_paths(targets):
        return "staged"
    if len(targets) != 1 or targets[0] == "-":
        raise KeyguardError(f"{chosen[0]}: give one git repository (default: .)")
    return chosen[0][2:]


def staged_paths(targets: tuple[str, ...]) -> list[str] | None:
    """``--staged FILE...`` (the pre-commit hook): judge only these files' staged lines, in the
    repository of the current directory. ``--staged [REPO]`` judges the whole index."""
    import os

    if len(targets) == 1 and (targets[0] == "-" or os.path.isdir(targets[0])):
        return None
    return list(targets)


def git_toplevel(target: str) -> str:
    from ..sources.git import GitError, open_repo

    try:
        top = open_repo(target).toplevel
    except GitError as exc:
        raise KeyguardError(str(exc)) from None
    import os

    return target if os.path.realpath(top) == os.path.realpath(target) else top  # as given


def agents_scan(s: Setup, baseline: Baseline | None) -> ScanResult:
    """The known agent locations under $HOME: which exist is printed (standard error) as they
    are read, a summary per agent after the scan; the report itself is the usual one."""
    import os

    from ..pipeline.plan import scan_agents

    home = os.path.expanduser("~")

    def existed(found: Any) -> None:
        say(f"keyguard: {found.location.agent}: ~/{found.location.path}")

    result = scan_agents(home, s, baseline, os.environ.get("CODEX_HOME") or None, existed)
    agents = result.stats.extra.get("agents") or {}
    if not agents:
        say("keyguard: no known agent location exists under ~")
    for agent, row in agents.items():
        n = row["findings"]
        say(f"keyguard: {agent}: {len(row['locations'])} location(s), {row['files']} file(s), "
            f"{n} finding{'' if n == 1 else 's'}")
    return result


def run_scan(targets: tuple[str, ...], s: Setup, baseline: Baseline | None, *, mode: str | None = None,
             since_ref: str | None = None, include_vendored: bool = False, jobs: int = 1,
             shard: tuple[int, int] | None = None, limits: Limits | None = None,
             seen: set[str] | None = None, paths: list[str] | None = None) -> ScanResult:
    """The scan, with every error the user can act on as one line."""
    from ..config.project import SetupError
    from ..pipeline.plan import PlanError, scan_git, scan_targets
    from ..sources.git import GitError
    from ..sources import WebError

    try:
        if mode is not None:
            return scan_git(targets[0], mode, since_ref, s, baseline, jobs, shard, paths)
        return scan_targets(list(targets), s, baseline, include_vendored, jobs, shard, limits, seen)
    except (GitError, SetupError, WebError, PlanError) as exc:
        raise KeyguardError(str(exc)) from None



def execute(targets: tuple[str, ...] = (), fmt: str | None = None, output: str | None = None,
            show_secrets: bool = False, color: bool | None = None, include_vendored: bool = False,
            verify: bool = False, history: bool = False, since_ref: str | None = None,
            staged: bool = False, baseline: str | None = None, fail_on: str | None = None,
            jobs: int | None = None, shard: str | None = None, config_file: str | None = None,
            no_config: bool = False, extra_rules: tuple[str, ...] = (), enable: tuple[str, ...] = (),
            disable: tuple[str, ...] = (), skip: tuple[str, ...] = (), max_pages: int | None = None,
            max_mb: int | None = None, max_time: int | None = None, timeout: int | None = None,
            max_depth: int | None = None, cross_origin: bool = False, verbose: bool = False,
            agents: bool = False, **remote: Any) -> None:
    """Run the scan the options describe, write its report and exit (0 clean, 1 findings)."""
    from ..config.project import SetupError, read_baselines
    from ..report import render

    if agents and (targets or history or since_ref or staged):
        raise KeyguardError("--agents scans the agents' locations under your home: give no target")
    if agents:
        import os

        targets = (os.path.expanduser("~"),)
    targets = targets or (".",)
    if fmt != "matrix":
        fmt = report_format(fmt, output, ("text", "json", "sarif", "github"))
    if is_remote(targets, history, since_ref):
        from .remote import scan_remote
  # a repository URL, github:ORG, gitlab:GROUP
        scan_remote(targets, fmt, output, show_secrets, color, verify, history, since_ref, staged, {
            **remote, "config_file": config_file, "no_config": no_config, "enable": enable,
            "disable": disable, "extra_rules": extra_rules, "skip": skip, "fail_on": fail_on,
            "baseline": baseline, "jobs": jobs, "shard": shard})
    if fmt == "matrix" or any(remote.get(k) for k in ("list_only", "dask_spec", "state_dir")):
        raise KeyguardError("--list, --format matrix, --state and --dask go with github:ORG or gitlab:GROUP")
    mode = None if agents else git_mode(targets, history, since_ref, staged)
    paths = staged_paths(targets) if mode == "staged" else None
    repo = "." if paths else targets[0]
    # git findings' paths are relative to the repository's top level: its config applies,
    # also when keyguard runs in a subdirectory
    s = setup_for((git_toplevel(repo),) if mode else targets, config_file, no_config, enable,
                  disable, extra_rules, skip, fail_on, baseline)
    try:
        accepted = read_baselines(s.baseline_files)
    except SetupError as exc:
        raise KeyguardError(str(exc)) from None
    n_jobs, parsed_shard = speed(jobs, shard)
    limits = (web_limits(max_pages, max_mb, max_time, timeout, max_depth, cross_origin)
              if any(map(is_url, targets)) else None)
    if agents:
        result = agents_scan(s, accepted)
    else:
        result = run_scan((repo,) if paths else targets, s, accepted, mode=mode, since_ref=since_ref,
                          include_vendored=include_vendored, jobs=n_jobs, shard=parsed_shard, limits=limits,
                          paths=paths)
    if verify:
        from .verify import verify_in_place

        verify_in_place(result.findings)

    emit_report(render(fmt, result, show_secrets=show_secrets, color=use_color(color, output),
                       verbose=verbose), output)
    exit_for((f.severity for f in result.findings), s.config.fail_on)
