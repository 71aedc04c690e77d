"""``keyguard audit gcp|openai|anthropic``: the click commands. Everything else is imported lazily."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable

import click

if TYPE_CHECKING:
    from .model import AuditResult


@click.group()
def audit() -> None:
    """Audit the keys of your own accounts with the owner's credentials (read-only).

    Exit 0 nothing flagged, 1 findings (at or above --fail-on), 2 error.
    """


def _report_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text",
                     show_default=True, help="Report format."),
        click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
                     help="Write the report to FILE instead of standard output."),
        click.option("--report", "scan_report", type=click.Path(dir_okay=False),
                     help="A `keyguard scan --format json` report: say which leaked keys belong to this account."),
        click.option("--fail-on", type=click.Choice(["low", "medium", "high", "critical"]), default="low",
                     show_default=True, help="Exit 1 only for findings of this severity or worse."),
        click.option("--color/--no-color", default=None, help="Colour text output (default: on a terminal)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@audit.command("gcp")
@click.option("--project", "projects", multiple=True, metavar="ID",
              help="Audit this project (repeatable; default: every active project you can list).")
@click.option("--credentials", "credentials_file", type=click.Path(dir_okay=False),
              help="A service-account key file (needs keyguard[gcp]); default: KEYGUARD_GCP_ACCESS_TOKEN, "
                   "else Application Default Credentials.")
@_report_options
def audit_gcp(projects: tuple[str, ...], credentials_file: str | None, **opts: Any) -> None:
    """API keys in Google Cloud projects: restrictions, and whether Gemini is enabled."""
    from . import gcp

    def run(client: Any, remember: Callable[[str], None]) -> AuditResult:
        token = gcp.token_from_environment(credentials_file)
        remember(token.value)
        return gcp.audit(client, token, projects)

    _run(("google",), run, **opts)


@audit.command("openai")
@_report_options
def audit_openai(**opts: Any) -> None:
    """Projects, API keys and admin keys of an OpenAI organization (key: OPENAI_ADMIN_KEY)."""
    from . import openai

    def run(client: Any, remember: Callable[[str], None]) -> AuditResult:
        key = openai.admin_key_from_environment()
        remember(key)
        return openai.audit(client, key)

    _run(("openai",), run, **opts)


@audit.command("anthropic")
@_report_options
def audit_anthropic(**opts: Any) -> None:
    """Workspaces and API keys of an Anthropic organization (key: ANTHROPIC_ADMIN_KEY)."""
    from . import anthropic

    def run(client: Any, remember: Callable[[str], None]) -> AuditResult:
        key = anthropic.admin_key_from_environment()
        remember(key)
        return anthropic.audit(client, key)

    _run(("anthropic",), run, **opts)


def _run(report_providers: tuple[str, ...], run: Callable[[Any, Callable[[str], None]], AuditResult],
         fmt: str, output: str | None,
         scan_report: str | None, fail_on: str, color: bool | None) -> None:
    from ..cli import EXIT_CLEAN, EXIT_FINDINGS, KeyguardError, emit_report
    from ..http import CredentialClient, EndpointError
    from ..model import severity_rank
    from . import crossref
    from .model import AuditError
    from .report import render

    secrets: list[str] = []
    try:
        leaked = crossref.load_report(scan_report) if scan_report else None
        result = run(CredentialClient.from_environment(), secrets.append)
        if leaked is not None:
            crossref.apply(result, leaked, report_providers)
    except (AuditError, EndpointError) as exc:
        raise KeyguardError(_scrub(str(exc), secrets)) from None
    use_color = color if color is not None else (output is None and sys.stdout.isatty())
    text = _scrub(render(fmt, result, color=use_color and fmt == "text"), secrets)
    emit_report(text, output)
    threshold = severity_rank(fail_on)
    failing = any(severity_rank(f.severity) >= threshold for f in result.findings)
    sys.exit(EXIT_FINDINGS if failing else EXIT_CLEAN)


def _scrub(text: str, secrets: list[str]) -> str:
    """Belt and braces: no code path prints the credential, and this makes sure of it."""
    for secret in secrets:
        if len(secret) >= 8:
            text = text.replace(secret, "[credential]")
    return text
