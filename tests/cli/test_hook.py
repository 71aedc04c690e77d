"""`keyguard hook claude-code|cursor` driven as the agents drive it: a subprocess, the event's
JSON on standard input, the verdict in the exit code, standard error and standard output."""
from __future__ import annotations

import json

import pytest

from keyguard import hook

from ..helpers import keyguard

BASE = {"session_id": "abc123", "transcript_path": "/home/me/.claude/projects/-app/abc123.jsonl",
        "cwd": "/home/me/app", "permission_mode": "default"}
CURSOR = {"conversation_id": "c-1", "generation_id": "g-1", "workspace_roots": ["/home/me/app"],
          "cursor_version": "1.7.2"}


def run_hook(agent: str, event: dict | str, *extra: str):
    data = event if isinstance(event, str) else json.dumps(event)
    p = keyguard("hook", agent, *extra, stdin=data)
    return p.returncode, p.stdout, p.stderr


def test_prompt_with_a_key_is_blocked_and_the_message_is_redacted(make_key):
    key = make_key("anthropic-api-key")
    rc, out, err = run_hook("claude-code", {**BASE, "hook_event_name": "UserPromptSubmit",
                                            "prompt": f"deploy it\nthe key is {key} thanks"})
    assert rc == 2 and out == ""
    assert key not in err and key[-4:] in err and "sk-ant-api03" in err
    assert "prompt" in err and "line 2" in err and "rotate" in err


def test_pre_tool_use_bash_command_blocked(make_key):
    key = make_key("openai-project-key")
    rc, _, err = run_hook("claude-code", {**BASE, "hook_event_name": "PreToolUse", "tool_name": "Bash",
                                          "tool_input": {"command": f"curl -H 'Authorization: Bearer {key}' "
                                                                    "https://api.openai.com/v1/models",
                                                         "description": "List models"}})
    assert rc == 2 and key not in err
    assert "Bash" in err and "tool_input.command" in err


def test_post_tool_use_mcp_result_escaped_json(make_key):
    key = make_key("huggingface-token")
    result = json.dumps({"content": [{"type": "text", "text": json.dumps({"HF_TOKEN": key})}]})
    rc, _, err = run_hook("claude-code", {**BASE, "hook_event_name": "PostToolUse", "tool_name": "mcp__cfg__get",
                                          "tool_input": {"name": "prod"}, "tool_response": result})
    assert rc == 2 and key not in err
    assert "output of mcp__cfg__get" in err and "Do not repeat" in err
    assert "tool_response<json>.content[0].text<json>.HF_TOKEN" in err


def test_clean_events_pass_silently():
    for event in ({**BASE, "hook_event_name": "UserPromptSubmit", "prompt": "fix the failing test in app.py"},
                  {**BASE, "hook_event_name": "PreToolUse", "tool_name": "Read",
                   "tool_input": {"file_path": "/home/me/app/app.py"}},
                  {**BASE, "hook_event_name": "PostToolUse", "tool_name": "Bash",
                   "tool_input": {"command": "ls"}, "tool_response": {"stdout": "app.py\nREADME.md\n",
                                                                       "stderr": "", "interrupted": False}}):
        assert run_hook("claude-code", event) == (0, "", "")


def test_tool_input_already_checked_is_not_blocked_again_after_the_tool(make_key):
    key = make_key("groq-api-key")
    event = {**BASE, "hook_event_name": "PostToolUse", "tool_name": "Write",
             "tool_input": {"file_path": "/tmp/x", "content": f"GROQ_API_KEY={key}"},
             "tool_response": {"filePath": "/tmp/x", "success": True}}
    assert run_hook("claude-code", event)[0] == 0


def test_malformed_event_is_scanned_as_text(make_key):
    key = make_key("xai-api-key")
    rc, _, err = run_hook("claude-code", f"not json {key}")
    assert rc == 2 and key not in err
    rc, out, err = run_hook("claude-code", "{not json at all")
    assert (rc, out) == (1, "") and "not a JSON object" in err  # a warning; the agent goes on


def test_cursor_shell_and_prompt(make_key):
    key = make_key("github-personal-access-token")
    rc, out, err = run_hook("cursor", {**CURSOR, "hook_event_name": "beforeShellExecution",
                                       "command": f"git clone https://x:{key}@github.com/me/app", "cwd": "/x"})
    assert rc == 2 and key not in out + err
    answer = json.loads(out)
    assert answer["permission"] == "deny" and answer["continue"] is False
    assert "GitHub" in answer["user_message"] and answer["agent_message"] == answer["user_message"]
    rc, out, _ = run_hook("cursor", {**CURSOR, "hook_event_name": "beforeSubmitPrompt",
                                     "prompt": "add a test for the parser", "attachments": []})
    assert (rc, json.loads(out)) == (0, {"continue": True})
    rc, out, _ = run_hook("cursor", {**CURSOR, "hook_event_name": "beforeMCPExecution",
                                     "tool_name": "MCP:db:query", "tool_input": '{"query": "select 1"}'})
    assert (rc, json.loads(out)) == (0, {})


def test_cursor_read_file_content(make_key):
    key = make_key("deepseek-api-key")
    rc, out, _ = run_hook("cursor", {**CURSOR, "hook_event_name": "beforeReadFile", "file_path": "/x/.env",
                                     "content": f"DEEPSEEK_API_KEY={key}\n"})
    assert rc == 2 and json.loads(out)["permission"] == "deny" and key not in out


@pytest.mark.parametrize("fail_closed", [False, True])
def test_internal_error_policy(monkeypatch, make_key, fail_closed):
    """A keyguard bug neither lets a key pass silently nor locks the user out."""
    def broken(items):
        raise RuntimeError("a bug")

    monkeypatch.setattr(hook, "_scan", broken)
    key = make_key("anthropic-api-key")
    leaked = json.dumps({**BASE, "hook_event_name": "UserPromptSubmit", "prompt": f"key {key}"}).encode()
    v = hook.check("claude-code", leaked, fail_closed=fail_closed)
    assert v.exit_code == 2 and key not in v.stderr and "internal error (RuntimeError)" in v.stderr
    clean = json.dumps({**BASE, "hook_event_name": "UserPromptSubmit", "prompt": "hello there"}).encode()
    v = hook.check("claude-code", clean, fail_closed=fail_closed)
    assert v.exit_code == (2 if fail_closed else 1)
    assert "internal error" in v.stderr and "a bug" not in v.stderr


def test_hook_start_up_imports_nothing_heavy():
    """Every prompt and tool call pays the hook's start-up: the console script runs it without
    the command line (no click) and without YAML, HTTP, git or detect-secrets."""
    import subprocess
    import sys

    code = ("import sys, io, json\n"
            "sys.stdin = io.TextIOWrapper(io.BytesIO(json.dumps({'hook_event_name': 'UserPromptSubmit',"
            " 'prompt': 'refactor the parser module please'}).encode()))\n"
            "sys.argv = ['keyguard', 'hook', 'claude-code']\n"
            "from keyguard.entry import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('yaml', 'requests', 'git', 'detect_secrets', 'urllib3', 'click'))\n"
            "print(json.dumps([code, heavy]))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert json.loads(p.stdout) == [0, []], p.stderr.decode()


def test_other_hook_command_lines_go_through_the_command_line():
    assert "Claude Code hook" in keyguard("hook", "claude-code", "--help").stdout
    p = keyguard("hook", "claude-code", "--bogus", stdin="{}")
    assert p.returncode == 2 and "No such option" in p.stderr
    assert keyguard("hook", "claude-code", "--fail-closed", stdin="{}").returncode == 0
