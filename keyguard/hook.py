"""The guard in front of a coding agent: scan one hook event, block it when it holds a key.

Claude Code runs a hook command with the event as JSON on standard input; exit 2 blocks
(``PreToolUse``: the tool call does not run; ``UserPromptSubmit``: the prompt is not sent) and
standard error is the reason shown (to the model for a tool call, to the user for a prompt).
After a tool ran (``PostToolUse``) nothing can be undone: exit 2 puts the message in front of
the model, telling it not to repeat the key. Any other exit code is a non-blocking error shown
to the user. Cursor's hooks read the same exit code 2 as "deny", and answer JSON on standard
output (``permission``, ``continue``, ``user_message``, ``agent_message``).

Failure policy: a key must never pass silently, and a keyguard bug must not lock the user out.
  * event not JSON, or not the shape expected: its raw text is scanned instead; key -> block,
    none -> exit 1 (non-blocking: the user sees one warning line, the agent goes on);
  * internal error: a fallback check for well-known key prefixes runs on the raw event;
    a hit -> block, none -> exit 1 with a warning (``--fail-closed``: block on any error).
Messages never hold a full key, only its redacted form, and never quote the event.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .model import Finding, ScanText
from .sources import jsonwalk

EXIT_ALLOW, EXIT_WARN, EXIT_BLOCK = 0, 1, 2
MAX_LISTED = 3

# (what the text is, where in the event) per event; None: every field but the metadata
CLAUDE_FIELDS = {
    "UserPromptSubmit": ("prompt", ("prompt",)),
    "PreToolUse": ("tool input", ("tool_input",)),
    "PostToolUse": ("tool output", ("tool_response",)),
}
CURSOR_FIELDS = {
    "beforeSubmitPrompt": ("prompt", ("prompt",)),
    "beforeShellExecution": ("command", ("command",)),
    "beforeMCPExecution": ("tool input", ("tool_input",)),
    "beforeReadFile": ("file content", ("content",)),
    "preToolUse": ("tool input", ("tool_input",)),
    "afterShellExecution": ("command output", ("output",)),
    "afterMCPExecution": ("tool output", ("result_json",)),
    "postToolUse": ("tool output", ("tool_output",)),
    "afterAgentResponse": ("agent response", ("text",)),
    "afterAgentThought": ("agent thought", ("text",)),
    "afterFileEdit": ("file edit", ("edits",)),
}
_METADATA = frozenset({
    "session_id", "transcript_path", "cwd", "hook_event_name", "permission_mode", "prompt_id",
    "conversation_id", "generation_id", "workspace_roots", "model", "cursor_version",
    "user_email", "tool_name", "tool_use_id",
})
# the fallback after an internal error: prefixes no innocent text carries before 20+ key chars
_FALLBACK = re.compile(
    r"(?:sk-(?:ant-(?:api|admin|oat|ort)\d\d|proj|svcacct|admin|or-v1)-|AIza|hf_|gsk_|xai-|ghp_|github_pat_"
    r"|glpat-|AKIA|pcsk_|r8_|nvapi-|sk-)[A-Za-z0-9_\-]{16,}"
)


def main(agent: str, fail_closed: bool = False) -> None:
    """Read one event on standard input, answer, and exit with the verdict's code."""
    import sys

    try:
        raw = sys.stdin.buffer.read()
    except OSError as exc:
        sys.stderr.write(f"keyguard: cannot read the hook event: {exc.strerror or exc}\n")
        sys.exit(EXIT_BLOCK if fail_closed else EXIT_WARN)
    except KeyboardInterrupt:
        sys.exit(130)
    verdict = check(agent, raw, fail_closed=fail_closed)
    try:
        if verdict.stdout:
            sys.stdout.write(verdict.stdout)
            sys.stdout.flush()
        if verdict.stderr:
            sys.stderr.write(verdict.stderr)
            sys.stderr.flush()
    except OSError:
        pass  # the agent stopped listening: the exit code still says it
    sys.exit(verdict.exit_code)


@dataclass
class Verdict:
    exit_code: int
    stderr: str = ""
    stdout: str = ""
    findings: list[Finding] = field(default_factory=list)


def event_texts(agent: str, event: Any) -> tuple[str, str, list[tuple[str, str]]] | None:
    """(event name, what the text is, [(json path, string)]) or None if not an event object."""
    if not isinstance(event, dict):
        return None
    name = event.get("hook_event_name")
    name = name if isinstance(name, str) else ""
    table = CLAUDE_FIELDS if agent == "claude-code" else CURSOR_FIELDS
    what, keys = table.get(name, ("event", None))
    if keys is None:
        keys = tuple(k for k in event if k not in _METADATA)
    items: list[tuple[str, str]] = []
    for key in keys:
        value = event.get(key)
        if isinstance(value, str) and len(value) < jsonwalk.MIN_VALUE_CHARS:
            continue
        items.extend(jsonwalk.leaves({key: value}))
    return name, what, items


def check(agent: str, raw: bytes, fail_closed: bool = False) -> Verdict:
    """The verdict for one event (``agent``: ``claude-code`` or ``cursor``)."""
    text = raw.decode("utf-8", "replace")
    try:
        return _check(agent, text)
    except Exception as exc:  # noqa: BLE001 - the failure policy, not a silent pass
        reason = f"internal error ({type(exc).__name__})"
        found = _FALLBACK.search(text)
        if found or fail_closed:
            what = "a key-shaped string" if found else "no key"
            msg = (f"keyguard: blocked: {reason} while checking this event; a fallback check "
                   f"found {what}" + ("" if found else ", and --fail-closed is set") + ".")
            return _block(agent, "", msg, [])
        return Verdict(EXIT_WARN, f"keyguard: {reason} while checking this event; a fallback "
                                  "check found no key-shaped string, so it was let through. "
                                  "Please report it.\n", _allow_json(agent, ""))


def _check(agent: str, text: str) -> Verdict:
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        event = None
    parsed = event_texts(agent, event)
    if parsed is None:
        findings = _scan([("event", text)])
        if findings:
            return _block(agent, "", _message("", "event", findings), findings)
        return Verdict(EXIT_WARN, "keyguard: the hook event was not a JSON object; its text was "
                                  "scanned and holds no key.\n", _allow_json(agent, ""))
    name, what, items = parsed
    findings = _scan(items)
    if findings:
        return _block(agent, name, _message(name, what, findings, event), findings)
    return Verdict(EXIT_ALLOW, "", _allow_json(agent, name))


def _scan(items: list[tuple[str, str]]) -> list[Finding]:
    if not items:
        return []
    from .detect.engine import Engine
    from .ruleset import load_rules

    joined = jsonwalk.join(iter(items))
    engine = Engine(load_rules())
    findings = engine.scan(ScanText(text=joined.text, path="<hook event>"))
    for f in findings:
        path, value_line = joined.path_at(f.line)
        f.origin["json_path"] = path
        f.line = value_line
    return findings


def _message(name: str, what: str, findings: list[Finding], event: Any = None) -> str:
    tool = event.get("tool_name") if isinstance(event, dict) else None
    listed = "; ".join(f"{f.rule.name} {f.redacted} at {f.origin.get('json_path') or what}"
                       + (f" line {f.line}" if f.line > 1 else "")
                       for f in findings[:MAX_LISTED])
    more = f" and {len(findings) - MAX_LISTED} more" if len(findings) > MAX_LISTED else ""
    n = "a key" if len(findings) == 1 else f"{len(findings)} keys"
    if name in ("PostToolUse", "afterShellExecution", "afterMCPExecution", "postToolUse"):
        head = (f"keyguard: the output of {tool or 'this tool'} holds {n}: {listed}{more}. "
                "Do not repeat, print, copy or store it anywhere; tell the user to rotate it.")
    elif name in ("UserPromptSubmit", "beforeSubmitPrompt"):
        head = (f"keyguard: blocked: this prompt holds {n}: {listed}{more}. It was not sent. "
                "Remove it and let the code read it from the environment; rotate it if it was "
                "shared anywhere.")
    else:
        head = (f"keyguard: blocked this {tool or what}: it holds {n}: {listed}{more}. Do not put "
                "keys in tool calls: read them from the environment (e.g. $OPENAI_API_KEY).")
    return head + "\n"


def _block(agent: str, name: str, msg: str, findings: list[Finding]) -> Verdict:
    stdout = ""
    if agent == "cursor":
        stdout = json.dumps({"continue": False, "permission": "deny",
                             "user_message": msg.strip(), "agent_message": msg.strip()}) + "\n"
    return Verdict(EXIT_BLOCK, msg, stdout, findings)


def _allow_json(agent: str, name: str) -> str:
    """Cursor expects JSON on every path; "no decision" leaves its own permission flow alone."""
    if agent != "cursor":
        return ""
    return json.dumps({"continue": True} if name == "beforeSubmitPrompt" else {}) + "\n"
