"""``keyguard audit gcp|openai|anthropic|openrouter``: the click commands. Everything else is imported lazily."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import click

from .options import stacked

if TYPE_CHECKING:
    from ..audit.model import AuditResult


@click.group(short_help="Audit your own accounts' keys (read-only, owner's credentials).")
def audit() -> None:
    """Audit the keys of your own accounts with the owner's credentials (read-only).

    Exit 0 nothing flagged, 1 findings (at or above --fail-on), 2 error.
    """


_report_options = stacked(
    click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "html"]),
                 help="Report format (default: from -o's extension, .sarif, .json or .html; else text; "
                      "html: one self-contained page with a usage chart)."),
    click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
                 help="Write the report to FILE instead of standard output."),
    click.option("--report", "scan_report", type=click.Path(dir_okay=False),
                 help="A `keyguard scan --format json` report: say which leaked keys belong to this account."),
    click.option("--fail-on", type=click.Choice(["low", "medium", "high", "critical"]), default="low",
                 show_default=True, help="Exit 1 only for findings of this severity or worse."),
    click.option("--color/--no-color", default=None, help="Colour text output (default: on a terminal)."),
)


def _usage_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--days", type=click.IntRange(2, 90), default=None,
                      help="With --usage: how many UTC days, ending today, to read (default 30).")(fn)
    return click.option("--usage", is_flag=True,
                        help="Also read per-key usage and spend per day, and flag anomalies.")(fn)


def _window(days: int | None) -> Any:
    from datetime import datetime, timezone

    from ..audit.usage import DEFAULT_DAYS, Window

    return Window(datetime.now(timezone.utc), days or DEFAULT_DAYS)


def _check_days(usage: bool, days: int | None) -> None:
    if days is not None and not usage:
        raise click.UsageError("--days needs --usage")


@audit.command("gcp", short_help="Google Cloud API keys: restrictions and service accounts.")
@click.option("--project", "projects", multiple=True, metavar="ID",
              help="Audit this project (repeatable; default: every active project you can list).")
@click.option("--credentials", "credentials_file", type=click.Path(dir_okay=False),
              help="A service-account key file (needs keyguard[gcp]); default: KEYGUARD_GCP_ACCESS_TOKEN, "
                   "else Application Default Credentials.")
@_usage_options
@_report_options
def audit_gcp(projects: tuple[str, ...], credentials_file: str | None, usage: bool, days: int | None,
              **opts: Any) -> None:
    """API keys in Google Cloud projects: restrictions, and whether Gemini is enabled.

    --usage: requests per key (credential) and API per day, from Cloud Monitoring."""
    _check_days(usage, days)
    from ..audit import gcp, gcp_token

    def run(client: Any, remember: Callable[[str], None]) -> AuditResult:
        token = gcp_token.token_from_environment(credentials_file)
        remember(token.value)
        result = gcp.audit(client, token, projects)
        if usage:
            from ..audit import usage_gcp

            result.usage = _with_progress(lambda progress: usage_gcp.read(client, token, result, _window(days), progress))
        return result

    _run(("google",), run, **opts)


@audit.command("openai", short_help="OpenAI projects, API keys and admin keys.")
@_usage_options
@_report_options
def audit_openai(usage: bool, days: int | None, **opts: Any) -> None:
    """Projects, API keys and admin keys of an OpenAI organization (key: OPENAI_ADMIN_KEY).

    --usage: requests and tokens per key, model and day (Usage API), cost (Costs API), spend limits."""
    _check_days(usage, days)
    from ..audit import openai

    def run(client: Any, remember: Callable[[str], None]) -> AuditResult:
        key = openai.admin_key_from_environment()
        remember(key)
        result = openai.audit(client, key)
        if usage:
            from ..audit import usage_openai

            result.usage = _with_progress(lambda progress: usage_openai.read(client, key, result, _window(days), progress))
        return result

    _run(("openai",), run, **opts)


@audit.command("anthropic", short_help="Anthropic workspaces and API keys.")
@_usage_options
@_report_options
def audit_anthropic(usage: bool, days: int | None, **opts: Any) -> None:
    """Workspaces and API keys of an Anthropic organization (key: ANTHROPIC_ADMIN_KEY).

    --usage: tokens per key, model and day (usage report), cost per workspace (cost report)."""
    _check_days(usage, days)
    from ..audit import anthropic

    def run(client: Any, remember: Callable[[str], None]) -> AuditResult:
        key = anthropic.admin_key_from_environment()
        remember(key)
        result = anthropic.audit(client, key)
        if usage:
            from ..audit import usage_anthropic

            result.usage = _with_progress(
                lambda progress: usage_anthropic.read(client, key, result, _window(days), progress))
        return result

    _run(("anthropic",), run, **opts)


@audit.command("openrouter", short_help="OpenRouter API keys and their spend against limits.")
@_usage_options
@_report_options
def audit_openrouter(usage: bool, days: int | None, **opts: Any) -> None:
    """API keys of an OpenRouter account and their spend against their limits
    (key: OPENROUTER_MANAGEMENT_KEY). Always a usage read-out; --usage is accepted for symmetry."""
    from ..audit import usage_openrouter

    def run(client: Any, remember: Callable[[str], None]) -> AuditResult:
        key = usage_openrouter.management_key_from_environment()
        remember(key)
        return _with_progress(lambda progress: usage_openrouter.audit(client, key, _window(days), progress))

    _run(("openrouter",), run, **opts)


def _with_progress(read: Callable[[Callable[[str], None]], Any]) -> Any:
    """A progress line on a terminal's stderr while ``read`` runs, cleared afterwards."""
    from ..audit.usage import Progress

    progress = Progress()
    try:
        return read(progress)
    finally:
        progress.done()


def _run(report_providers: tuple[str, ...], run: Callable[[Any, Callable[[str], None]], AuditResult],
         fmt: str, output: str | None,
         scan_report: str | None, fail_on: str, color: bool | None) -> None:
    from .common import KeyguardError, emit_report, exit_for, report_format, use_color
    from ..http import CredentialClient, EndpointError
    from ..audit import crossref
    from ..audit.model import AuditError
    from ..audit.report import render

    secrets: list[str] = []
    try:
        leaked = crossref.load_report(scan_report) if scan_report else None
        result = run(CredentialClient.from_environment(), secrets.append)
        if leaked is not None:
            crossref.apply(result, leaked, report_providers)
        if result.usage is not None:
            from ..audit import anomalies

            anomalies.flag(result, result.usage)  # after crossref: a leaked key in use is critical
    except (AuditError, EndpointError) as exc:
        raise KeyguardError(_scrub(str(exc), secrets)) from None
    if not fmt and (output or "").lower().endswith((".html", ".htm")):
        fmt = "html"
    fmt = report_format(fmt, output, ("text", "json", "sarif"))
    if fmt == "html":
        from ..audit.html import render_html

        text = _scrub(render_html(result), secrets)
    else:
        text = _scrub(render(fmt, result, color=use_color(color, output) and fmt == "text"), secrets)
    emit_report(text, output)
    exit_for((f.severity for f in result.findings), fail_on)


def _scrub(text: str, secrets: list[str]) -> str:
    """Belt and braces: no code path prints the credential, and this makes sure of it."""
    for secret in secrets:
        if len(secret) >= 8:
            text = text.replace(secret, "[credential]")
    return text
