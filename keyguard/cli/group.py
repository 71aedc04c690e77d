"""The ``keyguard`` command group: click parses the command line, and a command's module is
imported only when it runs (or for --help), so that a hook pays for one command's imports."""
from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from .. import __version__
from . import COMMANDS, interrupted
from .common import KeyguardError


class Commands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(f"keyguard.cli.{module}"), attribute)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyguardError as exc:  # shown and exited on as click's own errors are
            error = click.ClickException(exc.message)
            error.exit_code = exc.exit_code
            raise error from None


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keyguard")
def cli() -> None:
    """Find leaked AI-provider keys in files, git history and browser bundles."""


def run() -> None:
    """The command line, with click's own errors shown as click shows them."""
    try:
        code = cli.main(prog_name="keyguard", standalone_mode=False)
    except click.exceptions.Abort:
        interrupted()
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
