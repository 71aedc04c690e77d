"""``keyguard scan`` of remote sources: a repository URL (``--history``/``--since``), a GitHub
organisation or user (``github:ORG``), a GitLab group (``gitlab:GROUP``), one GitHub repository
(``github:OWNER/REPO``) and its Actions logs (``--actions-logs``). The ``scan`` command hands
over to ``scan_remote`` when its target is one of these."""
from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import replace
from typing import Any

from .common import EXIT_CLEAN, EXIT_FINDINGS, KeyguardError, emit_report
from .scanning import PREFIXES

def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # clones and clusters are cleaned up on the way out


def scan_remote(targets: tuple[str, ...], fmt: str, output: str | None, show_secrets: bool,
                color: bool | None, verify: bool, history: bool, since_ref: str | None, staged: bool,
                opts: dict[str, Any]) -> None:
    """Run a remote scan, write its report and exit (0 clean, 1 findings, 2 error)."""
    if len(targets) != 1:
        raise KeyguardError(f"{targets[0]}: give one remote source per scan")
    if staged:
        raise KeyguardError("--staged: a remote repository has no index; use --history or --since REF")
    if verify and targets[0].startswith(PREFIXES) and targets[0].count("/") == 0:
        raise KeyguardError("--verify is not available for an organisation's scan (its reports "
                             "keep no secrets); verify one repository at a time")
    if opts.get("shard"):
        raise KeyguardError("--shard splits a local scan; remote sources fan out with --dask")
    if fmt == "matrix" and not opts.get("list_only"):
        raise KeyguardError("--format matrix goes with --list")
    if opts.get("dask_spec"):
        from ..pipeline.dask import DaskError, parse_spec

        try:
            parse_spec(opts["dask_spec"])
        except DaskError as exc:
            raise KeyguardError(str(exc)) from None
    if _in_main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    from ..sources.forges import ForgeError
    from ..sources.remote import RemoteError

    try:
        code = _dispatch(targets[0], fmt, output, show_secrets, color, verify, since_ref, opts)
    except (ForgeError, RemoteError) as exc:
        raise KeyguardError(str(exc)) from None
    except KeyboardInterrupt:  # here, not in click (which would say "Aborted!" and exit 1)
        sys.stderr.write("keyguard: interrupted\n")
        sys.exit(130)
    sys.exit(code)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _dispatch(target: str, fmt: str, output: str | None, show_secrets: bool, color: bool | None,
              verify: bool, since_ref: str | None, opts: dict[str, Any]) -> int:
    from ..pipeline.repos import ScanOptions
    from ..sources import forges

    s, scan_opts = _options(opts, since_ref)
    opts = {**opts, "verify": verify}
    gh_base = forges.check_base(opts.get("github_api_url") or forges.GITHUB_API, "--github-api-url")
    gl_base = forges.check_base(opts.get("gitlab_url") or forges.GITLAB_URL, "--gitlab-url")
    token_hosts = {forges.web_host(gh_base): "GITHUB_TOKEN", forges.web_host(gl_base): "GITLAB_TOKEN"}
    scan_opts = replace(scan_opts, token_hosts=tuple(sorted(token_hosts.items())))
    assert isinstance(scan_opts, ScanOptions)
    if not target.startswith(PREFIXES):
        return _one_repository(target, target, fmt, output, show_secrets, color, s, scan_opts, opts)
    forge, _, name = target.partition(":")
    name = name.strip("/")
    if not name:
        raise KeyguardError(f"{target}: expected {forge}:ORG or {forge}:OWNER/REPO")
    if forge == "github":
        api = forges.github_api(gh_base, os.environ.get("GITHUB_TOKEN"))
        if opts.get("actions_logs"):
            if name.count("/") != 1:
                raise KeyguardError("--actions-logs: give github:OWNER/REPO")
            return _actions_logs(api, name, int(opts.get("runs") or 10), fmt, output, show_secrets, color, s,
                                 verify)
        if name.count("/") == 1:
            info = api.json("/repos/" + forges.quote_path(name))
            return _one_repository(_field(info, "clone_url", target), target, fmt, output, show_secrets,
                                   color, s, scan_opts, opts)
        repos = forges.github_repos(api, name)
    else:
        if opts.get("actions_logs"):
            raise KeyguardError("--actions-logs reads GitHub Actions: give github:OWNER/REPO")
        api = forges.gitlab_api(gl_base, os.environ.get("GITLAB_TOKEN"))
        try:
            repos = forges.gitlab_repos(api, name)
        except forges.NotFound:
            from urllib.parse import quote

            info = api.json(f"/projects/{quote(name, safe='')}")
            return _one_repository(_field(info, "http_url_to_repo", target), target, fmt, output,
                                   show_secrets, color, s, scan_opts, opts)
    chosen = forges.select(repos, opts.get("include_forks", False), opts.get("include_archived", False),
                           opts.get("repo_include", ()), opts.get("repo_exclude", ()))
    if opts.get("list_only"):
        emit_report(_listing(chosen, fmt), output)
        return EXIT_CLEAN
    return _many(chosen, fmt, output, s, scan_opts, opts)


def _field(info: Any, name: str, target: str) -> str:
    value = info.get(name) if isinstance(info, dict) else None
    if not isinstance(value, str) or not value:
        raise KeyguardError(f"{target}: the API's answer has no {name}")
    return value


def _options(opts: dict[str, Any], since_ref: str | None) -> tuple[Any, Any]:
    """The run's setup (from the current directory's config and the flags), and the same as
    plain values for the tasks, with every file named by an absolute path."""
    from ..config.file import ConfigError, find_config_file
    from ..config.project import Overrides, SetupError, setup
    from ..pipeline.repos import ScanOptions, settings_digest

    o = Overrides(
        config_file=opts.get("config_file"), no_config=opts.get("no_config", False),
        enable=tuple(opts.get("enable", ())), disable=tuple(opts.get("disable", ())),
        extra_rules=tuple(opts.get("extra_rules", ())), skip=tuple(opts.get("skip", ())),
        fail_on=opts.get("fail_on"), baseline=opts.get("baseline"),
    )
    try:
        s = setup((".",), o)
        found = o.config_file or (None if o.no_config else find_config_file("."))
    except (SetupError, ConfigError) as exc:
        raise KeyguardError(str(exc)) from None
    task = replace(o, config_file=os.path.abspath(found) if found else None, no_config=not found,
                   extra_rules=tuple(os.path.abspath(r) for r in o.extra_rules), baseline=None)
    scan_opts = ScanOptions(
        overrides=task, baseline_files=tuple(os.path.abspath(b) for b in s.baseline_files),
        mode="since" if since_ref else "history", since=since_ref, depth=opts.get("depth"),
        max_bytes=int(opts.get("max_repo_mb") or 2048) * 2**20)
    return s, replace(scan_opts, settings=settings_digest(scan_opts))


def _exit_code(severities: list[str], fail_on: str) -> int:
    from ..model import severity_rank

    threshold = severity_rank(fail_on)
    return EXIT_FINDINGS if any(severity_rank(sev) >= threshold for sev in severities) else EXIT_CLEAN


def _one_repository(url: str, shown: str, fmt: str, output: str | None, show_secrets: bool,
                    color: bool | None, s: Any, scan_opts: Any, opts: dict[str, Any]) -> int:
    """One repository, cloned and scanned here by the one orchestrator: every report format."""
    if opts.get("state_dir") or opts.get("dask_spec") or opts.get("list_only"):
        raise KeyguardError(f"{shown}: --state, --dask and --list go with github:ORG or gitlab:GROUP")
    from ..config.project import SetupError, read_baselines
    from ..pipeline.plan import PlanError
    from ..pipeline.repos import scan_remote
    from ..report import render
    from ..sources.git import GitError
    from .verify import verify_in_place

    if fmt == "matrix":
        raise KeyguardError("--format matrix lists an organisation's repositories")
    try:
        result = scan_remote(url, scan_opts, s, read_baselines(s.baseline_files), int(opts.get("jobs") or 1))
    except (GitError, PlanError, SetupError) as exc:
        raise KeyguardError(f"{shown}: {exc}") from None
    if opts.get("verify"):
        verify_in_place(result.findings)
    use_color = color if color is not None else (output is None and sys.stdout.isatty())
    emit_report(render(fmt, result, show_secrets=show_secrets, color=use_color), output)
    return _exit_code([f.severity for f in result.findings], s.config.fail_on)


def _actions_logs(api: Any, repo: str, runs: int, fmt: str, output: str | None, show_secrets: bool,
                  color: bool | None, s: Any, verify: bool) -> int:
    from ..config.project import SetupError, read_baselines
    from ..pipeline.plan import scan_actions_logs
    from ..report import render

    if fmt == "matrix":
        raise KeyguardError("--format matrix lists an organisation's repositories")
    try:
        result = scan_actions_logs(api, repo, runs, s, read_baselines(s.baseline_files))
    except SetupError as exc:
        raise KeyguardError(str(exc)) from None
    if verify:
        from .verify import verify_in_place

        verify_in_place(result.findings)
    use_color = color if color is not None else (output is None and sys.stdout.isatty())
    emit_report(render(fmt, result, show_secrets=show_secrets, color=use_color), output)
    return _exit_code([f.severity for f in result.findings], s.config.fail_on)


def _listing(repos: list[Any], fmt: str) -> str:
    if fmt == "matrix":  # `strategy: matrix: ${{ fromJSON(needs.list.outputs.matrix) }}`
        return json.dumps({"include": [{"repo": r.name, "url": r.clone_url} for r in repos]},
                          separators=(",", ":")) + "\n"
    if fmt == "json":
        return json.dumps([{"name": r.name, "url": r.clone_url, "fork": r.fork, "archived": r.archived}
                           for r in repos], indent=2) + "\n"
    return "".join(f"{r.name}\t{r.clone_url}\n" for r in repos)


def _many(repos: list[Any], fmt: str, output: str | None, s: Any, scan_opts: Any,
          opts: dict[str, Any]) -> int:
    from ..pipeline.repos import State, in_process, render_text, scan_repositories

    if fmt not in ("json", "text"):
        raise KeyguardError(f"--format {fmt}: an organisation's report is json or text")
    if opts.get("verify"):
        raise KeyguardError("--verify is not available for an organisation's scan (its reports "
                             "keep no secrets); verify one repository at a time")
    state = State(opts["state_dir"]) if opts.get("state_dir") else None
    if state is not None:
        scan_opts = replace(scan_opts, tmp_root=os.path.abspath(state.clones))
    pairs = [(r.name, r.clone_url) for r in repos]
    try:
        if opts.get("dask_spec"):
            from ..pipeline.dask import DaskError, dask_executor

            try:
                with dask_executor(opts["dask_spec"]) as executor:
                    doc = scan_repositories(pairs, scan_opts, state, executor)
            except DaskError as exc:
                raise KeyguardError(str(exc)) from None
        else:
            doc = scan_repositories(pairs, scan_opts, state, in_process)
    finally:
        if state is not None:
            state.close()
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n" if fmt == "json" else render_text(doc)
    emit_report(text, output)
    return _exit_code([str(f.get("severity") or "low") for f in doc["findings"]], s.config.fail_on)
