"""The console script. Two command lines run on every commit or agent event, so they skip
the command line's parser (click and the command group are about a third of their start-up):
``keyguard hook AGENT`` and the pre-commit hook's ``keyguard scan --staged [--no-color] FILE...``.
Everything else, and any other option, goes to ``keyguard.cli.main``."""
from __future__ import annotations

import sys

HOOK_AGENTS = ("claude-code", "cursor")
COLOR = {"--color": True, "--no-color": False}


def precommit_files(args: list[str]) -> tuple[list[str], bool | None] | None:
    """The files and colour choice of ``scan --staged [--color|--no-color] [--] FILE...``, or
    None when ``args`` is anything else (another option, no file: click parses those)."""
    if args[:2] != ["scan", "--staged"]:
        return None
    rest, color = args[2:], None
    while rest and rest[0] in COLOR:
        color, rest = COLOR[rest[0]], rest[1:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    elif any(a.startswith("-") for a in rest):
        return None
    return (rest, color) if rest else None


def main() -> None:
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "hook" and args[1] in HOOK_AGENTS and set(args[2:]) <= {"--fail-closed"}:
        from .hook import main as hook_main

        hook_main(args[1], "--fail-closed" in args[2:])
        return
    precommit = precommit_files(args)
    if precommit is not None:
        from .cli import guarded
        from .cli.scanning import execute

        files, color = precommit
        guarded(lambda: execute(tuple(files), staged=True, color=color))
        return
    from .cli import main as cli_main

    cli_main()
