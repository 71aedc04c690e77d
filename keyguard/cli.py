"""Command line: ``keyguard scan``. Heavy modules are imported inside commands (start-up time)."""
from __future__ import annotations

import os
import sys

import click

from . import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class KeyguardError(click.ClickException):
    """A fatal, expected error: one clear line, exit 2, no traceback."""

    exit_code = EXIT_ERROR


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keyguard")
def cli() -> None:
    """Find leaked AI-provider keys in files, git history and browser bundles."""


@cli.command()
@click.argument("targets", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]),
              default="text", show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--rules", "extra_rules", multiple=True, metavar="FILE_OR_DIR",
              help="Extra YAML rules (repeatable).")
@click.option("--show-secrets", is_flag=True, help="Print full secrets (never in SARIF).")
@click.option("--include-vendored", is_flag=True,
              help="Also scan node_modules/, .venv/, site-packages/ and similar folders.")
@click.option("--color/--no-color", default=None, help="Colour text output (default: on a terminal).")
def scan(targets: tuple[str, ...], fmt: str, output: str | None, extra_rules: tuple[str, ...],
         show_secrets: bool, include_vendored: bool, color: bool | None) -> None:
    """Scan files, directories, or - (standard input). Exit 0 clean, 1 findings, 2 error."""
    from .model import Stats
    from .report import render, write_output
    from .rules import RuleError, load_rules
    from .scanner import run
    from .sources.files import file_texts

    if not targets:
        targets = (".",)
    try:
        rules = load_rules(extra_rules)
    except RuleError as exc:
        raise KeyguardError(str(exc)) from None
    for t in targets:
        if t != "-" and not os.path.lexists(t):
            raise KeyguardError(f"{t}: no such file or directory")
    stats = Stats()
    dirs = [t for t in targets if t != "-" and os.path.isdir(t)]
    root = os.path.abspath(dirs[0]) if len(dirs) == 1 and len(targets) == 1 else None
    result = run(file_texts(list(targets), stats, include_vendored), rules, stats, root)
    use_color = color if color is not None else (output is None and sys.stdout.isatty())
    text = render(fmt, result, show_secrets=show_secrets, color=use_color)
    if output:
        try:
            write_output(text, output)
        except OSError as exc:
            raise KeyguardError(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    sys.exit(EXIT_FINDINGS if result.findings else EXIT_CLEAN)


def main() -> None:
    try:
        cli.main(prog_name="keyguard", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("keyguard: interrupted", err=True)
        sys.exit(130)
