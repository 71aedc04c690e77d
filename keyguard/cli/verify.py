"""Live checks: ``keyguard verify`` (keys from a report or standard input) and the
``scan --verify`` step."""
from __future__ import annotations

import sys
from typing import Any

import click

from .common import EXIT_CLEAN, EXIT_FINDINGS, FORMAT_HELP, KeyguardError, emit_report, report_format, use_color


def verify_in_place(findings: list[Any]) -> None:
    """Run the live checks in place; a refused endpoint or a bad KEYGUARD_ENDPOINTS is fatal."""
    from ..http import EndpointError
    from ..verify.run import client_from_environment, verify_findings

    def progress(done: int, total: int) -> None:
        click.echo(f"\rkeyguard: verified {done}/{total} keys", err=True, nl=done == total)

    try:
        verify_findings(findings, client_from_environment(),
                        progress=progress if sys.stderr.isatty() else None)
    except EndpointError as exc:
        raise KeyguardError(str(exc)) from None


@click.command("verify", short_help="Check keys live, from a JSON report or standard input.")
@click.argument("source", default="-")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]), help=FORMAT_HELP)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--show-secrets", is_flag=True, help="Print full secrets (never in SARIF).")
def verify_command(source: str, fmt: str, output: str | None, show_secrets: bool) -> None:
    """Check keys live: SOURCE is a `scan --format json --show-secrets` report, or - for keys on
    standard input, one per line (a key without a prefix needs its name: MISTRAL_API_KEY=...).
    Exit 0 if no key is live, 1 if any is, 2 on error."""
    from ..report import render
    from ..verify.input import InputError, read_findings

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
    verify_in_place(result.findings)
    fmt = report_format(fmt, output, ("text", "json", "sarif", "github"))
    report = render(fmt, result, show_secrets=show_secrets, color=use_color(None, output))
    emit_report(report, output)
    live = any((f.verification or {}).get("status") == "live" for f in result.findings)
    sys.exit(EXIT_FINDINGS if live else EXIT_CLEAN)
