"""``keyguard hook claude-code|cursor``: the guard a coding agent runs on each event.

Start-up is the cost of every prompt and tool call: the console script (``keyguard.entry``)
runs ``keyguard.hook.main`` without loading the command line at all; these commands are what
``--help`` shows and what runs when the hook is reached another way.
"""
from __future__ import annotations

import click


@click.group("hook", short_help="Guard a coding agent: block events that hold a key.")
def hook() -> None:
    """Guard a coding agent: scan each hook event (JSON on standard input) and block it when it
    holds a key (exit 2, a redacted reason on standard error)."""


_FAIL_CLOSED = click.option(
    "--fail-closed", is_flag=True,
    help="Block the event when keyguard itself fails (default: a fallback check for well-known "
         "key prefixes decides, and a clean event passes with a warning).")


@hook.command("claude-code")
@_FAIL_CLOSED
def claude_code(fail_closed: bool) -> None:
    """Claude Code hook (UserPromptSubmit, PreToolUse, PostToolUse). Exit 0: clean; 2: a key
    (blocked; the reason on standard error); 1: keyguard could not check the event (warning)."""
    from ..hook import main

    main("claude-code", fail_closed)


@hook.command("cursor", short_help="Cursor hook (before* and after* events).")
@_FAIL_CLOSED
def cursor(fail_closed: bool) -> None:
    """Cursor hook (beforeSubmitPrompt, beforeShellExecution, beforeMCPExecution, beforeReadFile,
    after* events). Answers JSON on standard output; exit 2 with permission "deny" on a key."""
    from ..hook import main

    main("cursor", fail_closed)
