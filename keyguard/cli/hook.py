"""``keyguard hook claude-code|cursor``: the guard a coding agent runs on each event.

Start-up is the cost of every prompt and tool call: only the hook logic is imported here, and
the engine and rules only once there is text to scan.
"""
from __future__ import annotations

import sys

import click


@click.group("hook")
def hook() -> None:
    """Guard a coding agent: scan each hook event (JSON on standard input) and block it when it
    holds a key (exit 2, a redacted reason on standard error)."""


def _run(agent: str, fail_closed: bool) -> None:
    from ..hook import check

    try:
        raw = sys.stdin.buffer.read()
    except OSError as exc:
        click.echo(f"keyguard: cannot read the hook event: {exc.strerror or exc}", err=True)
        sys.exit(2 if fail_closed else 1)
    verdict = check(agent, raw, fail_closed=fail_closed)
    if verdict.stdout:
        sys.stdout.write(verdict.stdout)
        sys.stdout.flush()
    if verdict.stderr:
        sys.stderr.write(verdict.stderr)
        sys.stderr.flush()
    sys.exit(verdict.exit_code)


_FAIL_CLOSED = click.option(
    "--fail-closed", is_flag=True,
    help="Block the event when keyguard itself fails (default: a fallback check for well-known "
         "key prefixes decides, and a clean event passes with a warning).")


@hook.command("claude-code")
@_FAIL_CLOSED
def claude_code(fail_closed: bool) -> None:
    """Claude Code hook (UserPromptSubmit, PreToolUse, PostToolUse). Exit 0: clean; 2: a key
    (blocked; the reason on standard error); 1: keyguard could not check the event (warning)."""
    _run("claude-code", fail_closed)


@hook.command("cursor")
@_FAIL_CLOSED
def cursor(fail_closed: bool) -> None:
    """Cursor hook (beforeSubmitPrompt, beforeShellExecution, beforeMCPExecution, beforeReadFile,
    after* events). Answers JSON on standard output; exit 2 with permission "deny" on a key."""
    _run("cursor", fail_closed)
