"""``keyguard merge``: the reports of --shard runs as one."""
from __future__ import annotations

import sys

import click

from .common import EXIT_CLEAN, EXIT_FINDINGS, KeyguardError, emit_report


@click.command("merge", short_help="Combine the reports of --shard runs into one.")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["json", "sarif"]),
              help="Report format (default: that of the reports; a .sarif output means sarif).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the merged report to FILE instead of standard output.")
def merge_reports(reports: tuple[str, ...], fmt: str | None, output: str | None) -> None:
    """Combine JSON or SARIF reports (of --shard runs) into one, each finding once.

    Exit 1 if the merged report has findings, 0 if not."""
    import json

    from ..report.merge import MergeError, count, merge

    if fmt is None and output and output.endswith((".sarif", ".sarif.json")):
        fmt = "sarif"
    try:
        found, doc = merge(list(reports), fmt)
    except MergeError as exc:
        raise KeyguardError(str(exc)) from None
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    emit_report(text, output)
    sys.exit(EXIT_FINDINGS if count(found, doc) else EXIT_CLEAN)
