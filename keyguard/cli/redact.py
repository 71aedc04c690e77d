"""``keyguard redact PATH...``: replace each key found in files with its redacted form."""
from __future__ import annotations

import sys

import click


@click.command("redact", short_help="Redact found keys in place in transcripts and logs.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
def redact(paths: tuple[str, ...], dry_run: bool) -> None:
    """Replace each key found in PATHS (transcripts, logs) with its redacted form, in place and
    atomically (the mode is kept; a crash or a full disk leaves the old file). Files git tracks
    are refused: the key stays in history. Rotate the key first. Exit 0: done (or nothing
    found); 2: a file could not be redacted."""
    from ..pipeline.scanner import Detection, Scanner
    from ..redact import ROTATE_FIRST, RedactError, apply, plan
    from ..ruleset import load_rules

    click.echo(ROTATE_FIRST, err=True)
    scanner = Scanner(Detection(load_rules()))
    failed = changed = keys = 0
    for path in paths:
        try:
            p = plan(path, scanner)
            if not dry_run:
                apply(p)  # first: "replaced" is printed only for what was written
            for c in p.changes:
                verb = "would replace" if dry_run else "replaced"
                times = f" ({c.count} times)" if c.count > 1 else ""
                click.echo(f"{path}:{c.line}: {c.rule} {c.redacted}: {verb}{times}")
            for f in p.not_literal:
                click.echo(f"{path}:{f.line}: {f.rule.name} {f.redacted}: found encoded "
                           f"({f.origin.get('encoding', 'escaped')}), not replaced: edit it by hand")
        except RedactError as exc:
            failed += 1
            click.echo(f"keyguard: {path}: {exc}", err=True)
            continue
        except OSError as exc:  # a full disk, a read-only directory: the old file is untouched
            failed += 1
            click.echo(f"keyguard: {path}: cannot write: {exc.strerror or exc}; not changed", err=True)
            continue
        if p.changes:
            changed += 1
            keys += len(p.changes)
    verb = "would redact" if dry_run else "redacted"
    click.echo(f"{verb} {keys} key{'s' if keys != 1 else ''} in {changed} file{'s' if changed != 1 else ''}"
               + (f"; {failed} not changed" if failed else ""))
    sys.exit(2 if failed else 0)
