"""``keyguard baseline create|update|import``: record accepted findings so that only new ones are reported."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from .common import KeyguardError, setup_for
from .options import project_options
from .scanning import run_scan

if TYPE_CHECKING:
    from ..findings.baseline import Baseline


@click.group()
def baseline() -> None:
    """Record accepted findings so that only new ones are reported."""


def _write_baseline(path: str, entries: set[Any]) -> None:
    from ..findings.baseline import dumps
    from ..atomic import write_output

    try:
        write_output(dumps(entries), path)
    except OSError as exc:
        raise KeyguardError(f"cannot write {path}: {exc.strerror or exc}") from None


def _read_keyguard_baseline(path: str) -> Baseline:
    from ..findings.baseline import BaselineError, load

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
    from ..findings.baseline import DEFAULT_PATH
    from ..config.project import config_root

    if output:
        return output
    root = config_root(targets)
    return DEFAULT_PATH if root == "." else os.path.join(root, DEFAULT_PATH)


@baseline.command("create", short_help="Write a baseline of every current finding.")
@click.argument("targets", nargs=-1)
@_OUTPUT
@project_options
def baseline_create(targets: tuple[str, ...], output: str | None, include_vendored: bool,
                    **opts: object) -> None:
    """Write a baseline of every current finding (refuses to overwrite; see update)."""
    from ..findings.baseline import entry_for

    targets = targets or (".",)
    output = _output_path(output, targets)
    if os.path.exists(output):
        raise KeyguardError(f"{output}: already exists; use `keyguard baseline update`")
    s = setup_for(targets, **opts, use_baseline=False)  # type: ignore[arg-type]
    result = run_scan(targets, s, None, include_vendored=include_vendored)
    entries = {entry_for(f) for f in result.findings}
    _write_baseline(output, entries)
    click.echo(f"keyguard: wrote {len(entries)} baseline entries to {output}", err=True)


@baseline.command("update", short_help="Add new findings, drop those that are gone.")
@click.argument("targets", nargs=-1)
@_OUTPUT
@project_options
def baseline_update(targets: tuple[str, ...], output: str | None, include_vendored: bool,
                    **opts: object) -> None:
    """Add new findings to the baseline and drop entries that are gone from scanned files."""
    from ..config.pathspec import normalize
    from ..findings.baseline import entry_for

    targets = targets or (".",)
    output = _output_path(output, targets)
    if not os.path.exists(output):
        raise KeyguardError(f"{output}: no such baseline; use `keyguard baseline create`")
    existing = _read_keyguard_baseline(output).entries
    s = setup_for(targets, **opts, use_baseline=False)  # type: ignore[arg-type]
    scanned: set[str] = set()
    result = run_scan(targets, s, None, include_vendored=include_vendored, seen=scanned)
    scanned = {normalize(p) for p in scanned}
    found = {entry_for(f) for f in result.findings}
    kept = {e for e in existing if e.path not in scanned}  # files not scanned this time
    entries = found | kept
    added, removed = len(entries - existing), len(existing - entries)
    _write_baseline(output, entries)
    click.echo(
        f"keyguard: {output}: {len(entries)} entries ({added} added, {removed} removed)", err=True
    )


@baseline.command("import", short_help="Turn a detect-secrets baseline into keyguard's.")
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
    from ..findings.baseline import BaselineError, entry_for, load, secret_sha1
    from ..config.pathspec import normalize

    try:
        ds = load(secrets_baseline)
    except BaselineError as exc:
        raise KeyguardError(str(exc)) from None
    if ds.entries:
        raise KeyguardError(f"{secrets_baseline}: already a keyguard baseline")
    targets = targets or (".",)
    output = _output_path(output, targets)
    existing = _read_keyguard_baseline(output).entries if os.path.exists(output) else set()
    s = setup_for(targets, **opts, use_baseline=False)  # type: ignore[arg-type]
    result = run_scan(targets, s, None, include_vendored=include_vendored)
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
