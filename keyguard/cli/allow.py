"""``keyguard allow FINGERPRINT --reason``: allow one finding, with its reason, in the config."""
from __future__ import annotations

import click

from .common import KeyguardError


@click.command(short_help="Allow a finding by its fingerprint, with a reason.")
@click.argument("fingerprint")
@click.option("--reason", required=True, help="Why this finding is not a problem (kept in the config).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="The config file to write (default: the one in the current directory, "
                   "else a new .keyguard.yaml).")
def allow(fingerprint: str, reason: str, config_file: str | None) -> None:
    """Allow a finding by its fingerprint (from the report), with a reason, in the config."""
    from ..config.allow import add_allow, target_file
    from ..config.file import FINGERPRINT_RE, ConfigError

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
