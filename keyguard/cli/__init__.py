"""The command line: one module per command. Each imports what it needs inside the command, so
that ``keyguard --help`` and the hooks start fast."""
from __future__ import annotations

import os
import sys

import click

import importlib

from .. import __version__
from .common import EXIT_ERROR, EXIT_INTERRUPTED

# command name -> (module, attribute): a command's module is imported only when it runs (or for
# --help), so that a hook pays for one command's imports, not every command's
COMMANDS = {
    "scan": ("scan", "scan"), "baseline": ("baseline", "baseline"), "allow": ("allow", "allow"),
    "rules": ("rules", "rules"), "merge": ("merge", "merge_reports"), "verify": ("verify", "verify_command"),
    "audit": ("audit", "audit"), "hook": ("hook", "hook"), "redact": ("redact", "redact"),
}


class Commands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        return command


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keyguard")
def cli() -> None:
    """Find leaked AI-provider keys in files, git history and browser bundles."""


def main() -> None:
    try:
        code = cli.main(prog_name="keyguard", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        interrupted()
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: one line, exit 2, and no traceback
        click.echo(crash_line(exc), err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else 0)


def interrupted() -> None:
    """Ctrl-C: exit 130 at once. Not 1, which says "findings": a cancelled CI job is no leak.

    Reports are written atomically, so an old one stays whole. ``os._exit``: the interpreter
    would otherwise wait for worker threads still blocked in a request (up to its time-out)."""
    try:
        sys.stderr.write("\nkeyguard: interrupted\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(EXIT_INTERRUPTED)


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
