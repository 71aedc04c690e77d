"""Command line: ``keyguard scan``, ``baseline``, ``allow``, ``rules``. Heavy modules are imported inside commands (start-up time)."""
from __future__ import annotations

import os
import sys

from typing import TYPE_CHECKING, Any, Callable, Iterator

import click

from . import __version__

if TYPE_CHECKING:
    from .baseline import Baseline
    from .model import ScanText
    from .project import Setup
    from .scanner import ScanResult

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class KeyguardError(click.ClickException):
    """A fatal, expected error: one clear line, exit 2, no traceback."""

    exit_code = EXIT_ERROR


def emit_report(text: str, output: str | None) -> None:
    """Write a report to ``output`` (atomically) or standard output. A failed write (a full
    disk, a closed pipe) is a one-line error, exit 2 — not a traceback and exit 1."""
    from .report import write_output

    try:
        if output:
            write_output(text, output)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    except OSError as exc:
        if not output:  # what is still buffered cannot be written either: drop it quietly
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except OSError:
                pass
        raise KeyguardError(f"cannot write {output or 'to standard output'}: {exc.strerror or exc}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keyguard")
def cli() -> None:
    """Find leaked AI-provider keys in files, git history and browser bundles."""


# -- audit: `keyguard audit gcp|openai|anthropic`, owner-side audits (keyguard/audit/) ----------
from .audit.cli import audit  # noqa: E402  (imports its heavy modules inside the commands)

cli.add_command(audit)


def project_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options every scanning command shares: config, rule choice, skip patterns."""
    options = [
        click.option("--config", "config_file", type=click.Path(dir_okay=False),
                     help="Use this config file (default: .keyguard.yaml or pyproject.toml "
                          "[tool.keyguard] in the scanned root)."),
        click.option("--no-config", is_flag=True,
                     help="Ignore config and baseline files found in the scanned tree."),
        click.option("--rules", "extra_rules", multiple=True, metavar="FILE_OR_DIR",
                     help="Extra YAML rules (repeatable)."),
        click.option("--enable", multiple=True, metavar="PACK_OR_RULE",
                     help="Turn on an opt-in pack or rule, e.g. 'generic' (repeatable)."),
        click.option("--disable", multiple=True, metavar="RULE_OR_PROVIDER",
                     help="Turn off a rule, provider or pack (repeatable)."),
        click.option("--skip", multiple=True, metavar="PATTERN",
                     help="Drop findings in paths matching this gitignore pattern (repeatable)."),
        click.option("--include-vendored", is_flag=True,
                     help="Also scan node_modules/, .venv/, site-packages/ and similar folders."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _setup(targets: tuple[str, ...], opts: dict[str, Any], use_baseline: bool = True) -> Setup:
    from .project import Overrides, SetupError, setup

    for t in targets:
        if t != "-" and not _is_url(t) and not os.path.lexists(t):
            raise KeyguardError(f"{t}: no such file or directory")
    o = Overrides(
        config_file=opts.get("config_file"), no_config=opts.get("no_config", False),
        enable=opts.get("enable", ()), disable=opts.get("disable", ()),
        extra_rules=opts.get("extra_rules", ()), skip=opts.get("skip", ()),
        fail_on=opts.get("fail_on"), baseline=opts.get("baseline"),
    )
    try:
        return setup(targets, o, use_baseline)
    except SetupError as exc:
        raise KeyguardError(str(exc)) from None


def _run(targets: tuple[str, ...], s: Setup, include_vendored: bool, baseline: Baseline | None,
         seen_paths: set[str] | None = None, speed: dict[str, Any] | None = None) -> ScanResult:
    from .model import Stats
    from .project import SetupError, packs_for, suppressor_for
    from .scanner import run
    from .sources.files import file_refs, file_texts

    stats = Stats()
    try:
        suppressor = suppressor_for(s, baseline)
    except SetupError as exc:
        raise KeyguardError(str(exc)) from None
    dirs = [t for t in targets if t != "-" and os.path.isdir(t)]
    from .sources.files import is_git_dir

    for d in dirs:
        if is_git_dir(d):
            raise KeyguardError(f"{d}: a git repository's own directory (bare repository or .git): "
                                "its files are git objects, which a directory scan cannot read; use "
                                f"`keyguard scan {d} --history` (or --since REF)")
    root = os.path.abspath(dirs[0]) if len(dirs) == 1 and len(targets) == 1 else None
    jobs, shard = _speed(speed or {})
    if seen_paths is None and not any(map(_is_url, targets)):
        # the fast path: worker processes, undecoded files skipped
        from .parallel import run_files

        refs = file_refs(list(targets), stats, include_vendored, shard)
        return run_files(refs, s.rules, stats, jobs, root, packs_for(s), suppressor)
    if shard is not None:
        raise KeyguardError("--shard splits files and --history, not a URL scan")
    texts = _browser_texts(targets, stats, include_vendored)
    if seen_paths is not None:
        texts = _recording(texts, seen_paths)
    return run(texts, s.rules, stats, root, packs_for(s), suppressor)


def _recording(texts: Iterator[ScanText], seen: set[str]) -> Iterator[ScanText]:
    from .pathspec import normalize

    for st in texts:
        seen.add(normalize(st.path))
        yield st


# -- git sources (issue 3): --history, --since, --staged ----------------------------------------
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


def _git_mode(targets: tuple[str, ...], history: bool, since_ref: str | None,
              staged: bool) -> str | None:
    chosen = [name for name, on in (("--history", history), ("--since", since_ref is not None),
                                    ("--staged", staged)) if on]
    if not chosen:
        return None
    if len(chosen) > 1:
        raise KeyguardError(f"{' and '.join(chosen)}: choose one")
    if len(targets) != 1 or targets[0] == "-":
        raise KeyguardError(f"{chosen[0]}: give one git repository (default: .)")
    return chosen[0][2:]


def _git_toplevel(target: str) -> str:
    from .sources.git import GitError, open_repo

    try:
        top = open_repo(target).toplevel
    except GitError as exc:
        raise KeyguardError(str(exc)) from None
    return target if os.path.realpath(top) == os.path.realpath(target) else top  # as given


def _run_git(mode: str, target: str, since_ref: str | None, s: Setup,
             baseline: Baseline | None, shard: tuple[int, int] | None = None, jobs: int = 1) -> ScanResult:
    from .git_scan import scan_git
    from .project import SetupError, packs_for, suppressor_for
    from .sources.git import GitError

    if shard is not None and mode != "history":
        raise KeyguardError(f"--shard splits a directory scan or --history, not --{mode}")
    try:
        return scan_git(target, mode, since_ref, s.rules, packs_for(s), suppressor_for(s, baseline),
                        shard, jobs)
    except (GitError, SetupError) as exc:
        raise KeyguardError(str(exc)) from None
# -- end of git sources ----------------------------------------------------------------------------


# -- speed and scale: --jobs, --shard (issue 6) ----------------------------------------------------
def speed_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--shard", metavar="I/N",
                      help="Scan only shard I of N (files split by a hash of their path); "
                           "combine the shards' reports with `keyguard merge`.")(fn)
    return click.option("--jobs", "-j", type=click.IntRange(min=1), metavar="N",
                        help="Worker processes (default: the number of CPUs; "
                             "small scans stay in one process).")(fn)


def _speed(opts: dict[str, Any]) -> tuple[int, tuple[int, int] | None]:
    from .parallel import default_jobs
    from .shard import parse_shard

    shard = None
    if opts.get("shard"):
        try:
            shard = parse_shard(str(opts["shard"]))
        except ValueError as exc:
            raise KeyguardError(f"--shard: {exc}") from None
    return int(opts.get("jobs") or default_jobs()), shard


@cli.command("merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["json", "sarif"]),
              help="Report format (default: that of the reports; a .sarif output means sarif).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the merged report to FILE instead of standard output.")
def merge_reports(reports: tuple[str, ...], fmt: str | None, output: str | None) -> None:
    """Combine JSON or SARIF reports (of --shard runs) into one, each finding once.

    Exit 1 if the merged report has findings, 0 if not."""
    import json

    from .merge import MergeError, count, merge

    if fmt is None and output and output.endswith((".sarif", ".sarif.json")):
        fmt = "sarif"
    try:
        found, doc = merge(list(reports), fmt)
    except MergeError as exc:
        raise KeyguardError(str(exc)) from None
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    emit_report(text, output)
    sys.exit(EXIT_FINDINGS if count(found, doc) else EXIT_CLEAN)
# -- end speed and scale ------------------------------------------------------------------------


@cli.command()
@click.argument("targets", nargs=-1)
@git_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]),
              default="text", show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--baseline", type=click.Path(dir_okay=False),
              help="Report only findings not in this keyguard or detect-secrets baseline.")
@click.option("--fail-on", type=click.Choice(["low", "medium", "high", "critical"]),
              help="Exit 1 only for findings of this severity or worse (default: low).")
@project_options
@click.option("--show-secrets", is_flag=True, help="Print full secrets (never in SARIF).")
@click.option("--color/--no-color", default=None, help="Colour text output (default: on a terminal).")
@click.option("--verify", is_flag=True,
              help="Check each distinct key live with its provider (metadata calls only, no cost).")
@speed_options
def scan(targets: tuple[str, ...], fmt: str, output: str | None, show_secrets: bool,
         color: bool | None, include_vendored: bool, verify: bool, history: bool = False,
         since_ref: str | None = None, staged: bool = False, **opts: object) -> None:
    """Scan files, directories, or - (standard input). Exit 0 clean, 1 findings, 2 error."""
    from .model import severity_rank
    from .project import SetupError, read_baselines
    from .report import render

    targets = targets or (".",)
    git_mode = _git_mode(targets, history, since_ref, staged)
    # git findings' paths are relative to the repository's top level: its config applies,
    # also when keyguard runs in a subdirectory
    s = _setup((_git_toplevel(targets[0]),) if git_mode else targets, opts)
    try:
        baseline = read_baselines(s.baseline_files)
    except SetupError as exc:
        raise KeyguardError(str(exc)) from None
    if git_mode:
        jobs, shard = _speed(opts)
        result = _run_git(git_mode, targets[0], since_ref, s, baseline, shard, jobs)
    else:
        result = _run(targets, s, include_vendored, baseline, speed=opts)
    if verify:
        _verify_findings(result.findings)
    use_color = color if color is not None else (output is None and sys.stdout.isatty())
    text = render(fmt, result, show_secrets=show_secrets, color=use_color)
    emit_report(text, output)
    threshold = severity_rank(s.config.fail_on)
    failing = any(severity_rank(f.severity) >= threshold for f in result.findings)
    sys.exit(EXIT_FINDINGS if failing else EXIT_CLEAN)


# --- browser artefacts and web scans (issue 4) ---------------------------------------------

def _is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def _browser_texts(targets: tuple[str, ...], stats: Any, include_vendored: bool) -> Iterator[ScanText]:
    """Files (with their source maps) and, for URL targets, a bounded crawl of the site."""
    from .sources.bundles import with_source_maps
    from .sources.files import file_texts

    paths = [t for t in targets if not _is_url(t)]
    urls = [t for t in targets if _is_url(t)]
    if paths:
        yield from with_source_maps(file_texts(paths, stats, include_vendored), stats)
    if urls:
        from .sources.web import Limits, WebError, web_texts

        params = click.get_current_context().params
        limits = Limits(
            max_pages=params.get("max_pages") or Limits.max_pages,
            max_bytes=(params.get("max_mb") or Limits.max_bytes // 2**20) * 2**20,
            max_seconds=params.get("max_time") or Limits.max_seconds,
            timeout=params.get("timeout") or Limits.timeout,
            max_depth=Limits.max_depth if params.get("max_depth") is None else params["max_depth"],
            same_origin=not params.get("cross_origin", False),
        )
        try:
            yield from with_source_maps(web_texts(urls, stats, limits), stats)
        except WebError as exc:
            raise KeyguardError(str(exc)) from None


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


scan = web_options(scan)
# --- end of browser artefacts block ---------------------------------------------------------


@cli.group()
def baseline() -> None:
    """Record accepted findings so that only new ones are reported."""


def _write_baseline(path: str, entries: set[Any]) -> None:
    from .baseline import dumps
    from .report import write_output

    try:
        write_output(dumps(entries), path)
    except OSError as exc:
        raise KeyguardError(f"cannot write {path}: {exc.strerror or exc}") from None


def _read_keyguard_baseline(path: str) -> Baseline:
    from .baseline import BaselineError, load

    try:
        existing = load(path)
    except BaselineError as exc:
        raise KeyguardError(str(exc)) from None
    if existing.sha1_entries or existing.real_secrets:
        raise KeyguardError(
            f"{path}: a detect-secrets baseline; convert it with `keyguard baseline import {path}`"
        )
    return existing


_OUTPUT = click.option("--output", "-o", type=click.Path(dir_okay=False),
                       help="The baseline file (default: .keyguard-baseline.json in the scanned root).")


def _output_path(output: str | None, targets: tuple[str, ...]) -> str:
    from .baseline import DEFAULT_PATH
    from .project import config_root

    if output:
        return output
    root = config_root(targets)
    return DEFAULT_PATH if root == "." else os.path.join(root, DEFAULT_PATH)


@baseline.command("create")
@click.argument("targets", nargs=-1)
@_OUTPUT
@project_options
def baseline_create(targets: tuple[str, ...], output: str | None, include_vendored: bool,
                    **opts: object) -> None:
    """Write a baseline of every current finding (refuses to overwrite; see update)."""
    from .baseline import entry_for

    targets = targets or (".",)
    output = _output_path(output, targets)
    if os.path.exists(output):
        raise KeyguardError(f"{output}: already exists; use `keyguard baseline update`")
    s = _setup(targets, opts, use_baseline=False)
    result = _run(targets, s, include_vendored, None)
    entries = {entry_for(f) for f in result.findings}
    _write_baseline(output, entries)
    click.echo(f"keyguard: wrote {len(entries)} baseline entries to {output}", err=True)


@baseline.command("update")
@click.argument("targets", nargs=-1)
@_OUTPUT
@project_options
def baseline_update(targets: tuple[str, ...], output: str | None, include_vendored: bool,
                    **opts: object) -> None:
    """Add new findings to the baseline and drop entries that are gone from scanned files."""
    from .baseline import entry_for

    targets = targets or (".",)
    output = _output_path(output, targets)
    if not os.path.exists(output):
        raise KeyguardError(f"{output}: no such baseline; use `keyguard baseline create`")
    existing = _read_keyguard_baseline(output).entries
    s = _setup(targets, opts, use_baseline=False)
    scanned: set[str] = set()
    result = _run(targets, s, include_vendored, None, scanned)
    found = {entry_for(f) for f in result.findings}
    kept = {e for e in existing if e.path not in scanned}  # files not scanned this time
    entries = found | kept
    added, removed = len(entries - existing), len(existing - entries)
    _write_baseline(output, entries)
    click.echo(
        f"keyguard: {output}: {len(entries)} entries ({added} added, {removed} removed)", err=True
    )


@baseline.command("import")
@click.argument("secrets_baseline", type=click.Path(dir_okay=False))
@click.argument("targets", nargs=-1)
@_OUTPUT
@project_options
def baseline_import(secrets_baseline: str, targets: tuple[str, ...], output: str | None,
                    include_vendored: bool, **opts: object) -> None:
    """Turn a detect-secrets .secrets.baseline into keyguard baseline entries.

    detect-secrets stores only the SHA-1 of each secret, so keyguard scans TARGETS (default: .)
    and records every finding whose file and secret match an entry of SECRETS_BASELINE.
    Entries audited as real secrets (is_secret: true) are not imported.
    """
    from .baseline import BaselineError, entry_for, load, secret_sha1
    from .pathspec import normalize

    try:
        ds = load(secrets_baseline)
    except BaselineError as exc:
        raise KeyguardError(str(exc)) from None
    if ds.entries:
        raise KeyguardError(f"{secrets_baseline}: already a keyguard baseline")
    targets = targets or (".",)
    output = _output_path(output, targets)
    existing = _read_keyguard_baseline(output).entries if os.path.exists(output) else set()
    s = _setup(targets, opts, use_baseline=False)
    result = _run(targets, s, include_vendored, None)
    matched: set[tuple[str, str]] = set()
    entries = set(existing)
    for f in result.findings:
        key = (normalize(f.path), secret_sha1(f))
        if key in ds.sha1_entries:
            matched.add(key)
            entries.add(entry_for(f))
    _write_baseline(output, entries)
    unmatched = len(ds.sha1_entries - matched)
    msg = (
        f"keyguard: {output}: imported {len(entries - existing)} entries from {secrets_baseline} "
        f"({len(matched)} of {len(ds.sha1_entries)} triaged secrets are found by keyguard"
    )
    msg += f"; {unmatched} not reported by keyguard's rules)" if unmatched else ")"
    if ds.real_secrets:
        msg += f"; {ds.real_secrets} audited as real secrets stay reported"
    click.echo(msg, err=True)


@cli.command()
@click.argument("fingerprint")
@click.option("--reason", required=True, help="Why this finding is not a problem (kept in the config).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="The config file to write (default: the one in the current directory, "
                   "else a new .keyguard.yaml).")
def allow(fingerprint: str, reason: str, config_file: str | None) -> None:
    """Allow a finding by its fingerprint (from the report), with a reason, in the config."""
    from .allow import add_allow, target_file
    from .config import FINGERPRINT_RE, ConfigError

    fp = fingerprint.strip().lower()
    if not FINGERPRINT_RE.match(fp):
        # the argument is not echoed: a key pasted by mistake would land in the terminal or CI log
        raise KeyguardError("not a fingerprint (32 hex characters, see the report)")
    if not reason.strip():
        raise KeyguardError("--reason: say why this finding is allowed")
    try:
        path = target_file(config_file)
        added = add_allow(path, fp, reason.strip())
    except ConfigError as exc:
        raise KeyguardError(str(exc)) from None
    except OSError as exc:
        raise KeyguardError(f"cannot write {config_file or 'config'}: {exc.strerror or exc}") from None
    if added:
        click.echo(f"keyguard: allowed {fp} in {path}", err=True)
    else:
        click.echo(f"keyguard: {fp} is already allowed in {path}", err=True)


@cli.group()
def rules() -> None:
    """List, show and test detection rules."""


@rules.command("list")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this config file.")
@click.option("--no-config", is_flag=True, help="Ignore the config in the current directory.")
@click.option("--rules", "extra_rules", multiple=True, metavar="FILE_OR_DIR", help="Extra YAML rules.")
@click.option("--enable", multiple=True, metavar="PACK_OR_RULE", help="Turn on an opt-in pack or rule.")
@click.option("--disable", multiple=True, metavar="RULE_OR_PROVIDER", help="Turn off a rule or provider.")
def rules_list(**opts: object) -> None:
    """Every rule, with its severity and whether this project's config has it on."""
    s = _setup((".",), opts, use_baseline=False)
    on = {r.id for r in s.rules} | {r.id for r in s.pack_rules}
    width = max(len(r.id) for r in s.all_rules)
    for r in s.all_rules:
        state = "on " if r.id in on else "off"
        click.echo(f"{r.id:<{width}}  {state}  {r.severity:<8}  {r.provider:<10}  {r.name}")


@rules.command("show")
@click.argument("rule_id")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this config file.")
@click.option("--no-config", is_flag=True, help="Ignore the config in the current directory.")
@click.option("--rules", "extra_rules", multiple=True, metavar="FILE_OR_DIR", help="Extra YAML rules.")
def rules_show(rule_id: str, **opts: object) -> None:
    """Everything about one rule: pattern, keywords, severity, remediation, examples."""
    s = _setup((".",), opts, use_baseline=False)
    rule = next((r for r in s.all_rules if r.id == rule_id), None)
    if rule is None:
        raise KeyguardError(f"no rule {rule_id!r}; see `keyguard rules list`")
    from .ruleset.check import describe

    click.echo(describe(rule), nl=False)


@rules.command("test")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
def rules_test(files: tuple[str, ...]) -> None:
    """Run the rules in FILES against their own examples. Exit 1 if any example fails."""
    from .ruleset.load import RuleError, load_rules
    from .ruleset.check import test_rules

    try:
        user_rules = load_rules(files, builtin=False)
    except RuleError as exc:
        raise KeyguardError(str(exc)) from None
    if not user_rules:
        raise KeyguardError(f"{', '.join(files)}: no rules")
    report, failed = test_rules(user_rules)
    click.echo(report, nl=False)
    sys.exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


# -- live checks: `scan --verify` and `keyguard verify` ---------------------------------------

def _verify_findings(findings: list[Any]) -> None:
    """Run the live checks in place; a refused endpoint or a bad KEYGUARD_ENDPOINTS is fatal."""
    from .http import EndpointError
    from .verify.run import client_from_environment, verify_findings

    def progress(done: int, total: int) -> None:
        click.echo(f"\rkeyguard: verified {done}/{total} keys", err=True, nl=done == total)

    try:
        verify_findings(findings, client_from_environment(),
                        progress=progress if sys.stderr.isatty() else None)
    except EndpointError as exc:
        raise KeyguardError(str(exc)) from None


@cli.command("verify")
@click.argument("source", default="-")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]),
              default="text", show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--show-secrets", is_flag=True, help="Print full secrets (never in SARIF).")
def verify_command(source: str, fmt: str, output: str | None, show_secrets: bool) -> None:
    """Check keys live: SOURCE is a `scan --format json --show-secrets` report, or - for keys on
    standard input, one per line (a key without a prefix needs its name: MISTRAL_API_KEY=...).
    Exit 0 if no key is live, 1 if any is, 2 on error."""
    from .report import render
    from .verify.input import InputError, read_findings

    try:
        if source == "-":
            text = sys.stdin.read()
        else:
            with open(source, encoding="utf-8") as fh:
                text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyguardError(f"{source}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        result = read_findings(text, source)
    except InputError as exc:
        raise KeyguardError(str(exc)) from None
    _verify_findings(result.findings)
    report = render(fmt, result, show_secrets=show_secrets, color=output is None and sys.stdout.isatty())
    emit_report(report, output)
    live = any((f.verification or {}).get("status") == "live" for f in result.findings)
    sys.exit(EXIT_FINDINGS if live else EXIT_CLEAN)

# -- end of live checks ------------------------------------------------------------------------


def main() -> None:
    try:
        cli.main(prog_name="keyguard", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("keyguard: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: one line, exit 2, and no traceback
        click.echo(crash_line(exc), err=True)
        sys.exit(EXIT_ERROR)


def crash_line(exc: BaseException) -> str:
    """The one line shown for an unexpected error: its type and where it was raised, never its
    message or the traceback's values, which may quote the scanned text (a secret)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        frame = frames[-1]
        where = f" at {os.path.basename(frame.filename)}:{frame.lineno}"
    return (f"keyguard: internal error ({type(exc).__name__}{where}); please report it "
            "(its message is not shown: it may quote scanned text)")
