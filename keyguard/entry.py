"""The console script: ``keyguard hook AGENT`` runs without loading the command line (click
and every command's module are about a third of the hook's start-up, paid on every prompt and
tool call the agent makes); everything else goes to ``keyguard.cli.main``."""
from __future__ import annotations

import sys

HOOK_AGENTS = ("claude-code", "cursor")


def main() -> None:
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "hook" and args[1] in HOOK_AGENTS and set(args[2:]) <= {"--fail-closed"}:
        from .hook import main as hook_main

        hook_main(args[1], "--fail-closed" in args[2:])
        return
    from .cli import main as cli_main

    cli_main()
