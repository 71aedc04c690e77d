"""``keyguard scan``: files, directories, ``-``, git history or changes, and sites by URL."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import click

from .common import KeyguardError, exit_for, project_options, report_format, setup_for, use_color
from .remote import is_remote, remote_options, scan_remote
from ..sources import is_url

if TYPE_CHECKING:
    from ..config.project import Setup
    from ..findings.baseline import Baseline
    from ..model import ScanResult
    from ..sources.web import Limits


class ScanCommand(click.Command):
    """``scan --help`` with the options that only URL targets use in a section of their own."""

    URL_ONLY = "URL scans: "

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        general, web = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is None:
                continue
            if record[1].startswith(self.URL_ONLY):
                rest = record[1][len(self.URL_ONLY):]
                web.append((record[0], rest[:1].upper() + rest[1:]))
            else:
                general.append(record)
        with formatter.section("Options"):
            formatter.write_dl(general)
        if web:
            with formatter.section("URL scan options"):
                formatter.write_dl(web)


def git_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--history", is_flag=True,
                     help="Scan every blob reachable from any ref of the git repo TARGET."),
        click.option("--since", "since_ref", metavar="REF",
                     help="Scan only what the commits in REF..HEAD add (a pull request's diff)."),
        click.option("--staged", is_flag=True,
                     help="Scan only the lines the git index would commit."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def speed_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--shard", metavar="I/N",
                      help="Scan only shard I of N (files split by a hash of their path); "
                           "combine the shards' reports with `keyguard merge`.")(fn)
    return click.option("--jobs", "-j", type=click.IntRange(min=1), metavar="N",
                        help="Worker processes (default: the number of CPUs; "
                             "small scans stay in one process).")(fn)


def web_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Limits for ``keyguard scan https://...``."""
    options = [
        click.option("--max-pages", type=click.IntRange(1), help="URL scans: fetch at most N resources (default 200)."),
        click.option("--max-mb", type=click.IntRange(1), help="URL scans: download at most N MiB in all (default 50)."),
        click.option("--max-time", type=click.IntRange(1), help="URL scans: stop fetching after N seconds (default 120)."),
        click.option("--timeout", type=click.IntRange(1), help="URL scans: per-request time-out in seconds (default 10)."),
        click.option("--max-depth", type=click.IntRange(0),
                     help="URL scans: follow at most N links from the start page (default 3: "
                          "page 0, its scripts 1, chunks they name 2, ...)."),
        click.option("--cross-origin", is_flag=True, help="URL scans: also fetch scripts and maps from other origins."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


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
        click.echo(f"keyguard: {found.location.agent}: ~/{found.location.path}", err=True)

    result = scan_agents(home, s, baseline, os.environ.get("CODEX_HOME") or None, existed)
    agents = result.stats.extra.get("agents") or {}
    if not agents:
        click.echo("keyguard: no known agent location exists under ~", err=True)
    for agent, row in agents.items():
        n = row["findings"]
        click.echo(f"keyguard: {agent}: {len(row['locations'])} location(s), {row['files']} file(s), "
                   f"{n} finding{'' if n == 1 else 's'}", err=True)
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


@click.command(cls=ScanCommand, short_help="Scan files, directories, git history or a deployed site.")
@click.argument("targets", nargs=-1)
@git_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github", "matrix"]),
              help="Report format (default: from -o's extension, .sarif or .json; else text; matrix: with "
                   "--list, a GitHub Actions matrix of repositories).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--baseline", type=click.Path(dir_okay=False),
              help="Report only findings not in this keyguard or detect-secrets baseline.")
@click.option("--fail-on", type=click.Choice(["low", "medium", "high", "critical"]),
              help="Exit 1 only for findings of this severity or worse (default: low).")
@project_options
@click.option("--show-secrets", is_flag=True, help="Print full secrets (never in SARIF).")
@click.option("--color/--no-color", default=None,
              help="Colour text output (default: on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it).")
@click.option("-v", "--verbose", is_flag=True, help="Text report: name every skipped file, not the first 10.")
@click.option("--verify", is_flag=True,
              help="Check each distinct key live with its provider (metadata calls only, no cost).")
@click.option("--agents", is_flag=True,
              help="Scan the coding agents' configs and transcripts under your home directory "
                   "(Claude Code, Claude Desktop, Cursor, Windsurf, Codex, Gemini CLI); read-only.")
@speed_options
@web_options
@remote_options
def scan(targets: tuple[str, ...], fmt: str, output: str | None, show_secrets: bool,
         color: bool | None, include_vendored: bool, verify: bool, history: bool, since_ref: str | None,
         staged: bool, baseline: str | None, fail_on: str | None, jobs: int | None, shard: str | None,
         config_file: str | None, no_config: bool, extra_rules: tuple[str, ...], enable: tuple[str, ...],
         disable: tuple[str, ...], skip: tuple[str, ...], max_pages: int | None, max_mb: int | None,
         max_time: int | None, timeout: int | None, max_depth: int | None, cross_origin: bool,
         verbose: bool = False, agents: bool = False, **remote: Any) -> None:
    """Scan TARGETS for leaked keys: files, directories, - (standard input), the URL of a
    deployed site (its page, scripts, chunks and source maps), a repository URL (with --history
    or --since), github:ORG, gitlab:GROUP or github:OWNER/REPO (default target: .).

    Exit 0 clean, 1 findings, 2 error, 130 interrupted.

    \b
    Examples:
      keyguard scan .                          the working tree
      keyguard scan . --since origin/main      what a pull request's commits add
      keyguard scan dist/ .env.production      a build and the .env it was made from
      keyguard scan https://app.example.com/   a deployed site
      keyguard scan https://app.example.com/ --max-pages 50 --cross-origin
      keyguard scan github:ORG                 every repository of an organisation
    """
    from ..config.project import SetupError, read_baselines
    from ..report import render
    from .verify import verify_in_place

    if agents and (targets or history or since_ref or staged):
        raise KeyguardError("--agents scans the agents' locations under your home: give no target")
    if agents:
        import os

        targets = (os.path.expanduser("~"),)
    targets = targets or (".",)
    if fmt != "matrix":
        fmt = report_format(fmt, output, ("text", "json", "sarif", "github"))
    if is_remote(targets, history, since_ref):  # a repository URL, github:ORG, gitlab:GROUP
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
        verify_in_place(result.findings)
    from .common import emit_report

    emit_report(render(fmt, result, show_secrets=show_secrets, color=use_color(color, output),
                       verbose=verbose), output)
    exit_for((f.severity for f in result.findings), s.config.fail_on)
