"""Agent configs and transcripts through `keyguard scan`: a directory, git history, staged
changes, and `scan --agents` over a temp home."""
from __future__ import annotations

import json
import os
import subprocess

from ..helpers import keyguard, scan_report

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def mcp_json(key: str, password: str) -> str:
    return json.dumps({"mcpServers": {
        "openai": {"command": "npx", "args": ["-y", "srv"], "env": {"OPENAI_API_KEY": key}},
        "db": {"command": "db-mcp", "env": {"DB_PASSWORD": password, "DB_HOST": "db.internal.example"}},
    }}, indent=2) + "\n"


def by_rule(report):
    return {f["rule_id"]: f for f in report["findings"]}


def test_directory_scan_reads_configs_and_transcripts(tmp_path, make_key):
    key, groq, xai = make_key("openai-project-key"), make_key("groq-api-key"), make_key("xai-api-key")
    (tmp_path / ".mcp.json").write_text(mcp_json(key, "Hq7vT2pLx9Wd"))
    (tmp_path / ".claude" / "projects" / "-home-me-app").mkdir(parents=True)
    (tmp_path / ".claude" / "settings.local.json").write_text(json.dumps(
        {"permissions": {"allow": [f"Bash(curl -H 'Authorization: Bearer {groq}' https://api.groq.com/openai/v1/models)"]}}))
    record = {"sessionId": "s1", "timestamp": "2026-11-30T10:00:00Z", "message": {"content": [
        {"type": "tool_result", "content": json.dumps({"stdout": f"XAI_API_KEY={xai}"})}]}}
    (tmp_path / ".claude" / "projects" / "-home-me-app" / "s1.jsonl").write_text(
        json.dumps({"sessionId": "s1", "message": {"content": "hi"}}) + "\n" + json.dumps(record) + "\n")
    rc, report = scan_report(str(tmp_path))
    assert rc == 1
    got = by_rule(report)
    assert set(got) == {"openai-project-key", "agent-config-key-named-value", "groq-api-key", "xai-api-key"}
    o = got["openai-project-key"]
    lines = (tmp_path / ".mcp.json").read_text().splitlines()
    line_of = {name: i for i, l in enumerate(lines, 1) for name in ("OPENAI_API_KEY", "DB_PASSWORD") if name in l}
    assert (o["path"], o["line"], o["origin"]["json_path"]) == (
        ".mcp.json", line_of["OPENAI_API_KEY"], "mcpServers.openai.env.OPENAI_API_KEY")
    p = got["agent-config-key-named-value"]
    assert (p["line"], p["severity"], p["origin"]["variable"]) == (line_of["DB_PASSWORD"], "medium", "DB_PASSWORD")
    assert got["groq-api-key"]["origin"]["json_path"] == "permissions.allow[0]"
    x = got["xai-api-key"]
    assert (x["path"], x["line"], x["origin"]["session_id"], x["origin"]["json_path"]) == (
        ".claude/projects/-home-me-app/s1.jsonl", 2, "s1", "message.content[0].content<json>.stdout")
    assert report["stats"]["agent_configs"] and report["stats"]["transcripts"]


def test_large_transcript_read_in_chunks_is_streamed_once(tmp_path, make_key):
    key = make_key("anthropic-api-key")
    path = tmp_path / ".codex" / "sessions" / "2026" / "11" / "30" / "rollout-2026-11-30T10-00-00-abc.jsonl"
    path.parent.mkdir(parents=True)
    filler = json.dumps({"type": "response_item", "payload": {"output": "x = 1\n" * 500}}) + "\n"
    n = (6 << 20) // len(filler)
    with open(path, "w") as fh:
        fh.write(json.dumps({"type": "session_meta", "payload": {"id": "abc"}}) + "\n")
        fh.write(filler * n)
        fh.write(json.dumps({"timestamp": "t", "type": "response_item",
                             "payload": {"output": json.dumps({"env": f"ANTHROPIC_API_KEY={key}"})}}) + "\n")
    rc, report = scan_report(str(tmp_path))
    (f,) = report["findings"]
    assert (f["line"], f["origin"]["session_id"], f["origin"]["json_path"]) == (n + 2, "abc", "payload.output<json>.env")


def test_committed_config_is_high_in_history_and_staged(tmp_path, make_key):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / ".mcp.json").write_text(mcp_json(make_key("openai-project-key"), "Hq7vT2pLx9Wd"))
    git("add", ".mcp.json", cwd=repo)
    rc, staged = scan_report(str(repo), "--staged")
    git("commit", "-qm", "mcp", cwd=repo)
    rc2, history = scan_report(str(repo), "--history")
    for report in (staged, history):
        got = by_rule(report)
        p = got["agent-config-key-named-value"]
        assert p["severity"] == "high" and any("committed to git" in r for r in p["reasons"])
        assert got["openai-project-key"]["severity"] in ("high", "critical")
        assert got["openai-project-key"]["origin"]["json_path"] == "mcpServers.openai.env.OPENAI_API_KEY"
    assert history["findings"][0]["commit"]["sha"]


def test_scan_agents_in_a_temp_home(tmp_path, make_key):
    key, ant = make_key("openai-project-key"), make_key("anthropic-api-key")
    home = tmp_path / "home"
    (home / ".cursor").mkdir(parents=True)
    (home / ".cursor" / "mcp.json").write_text(mcp_json(key, "Hq7vT2pLx9Wd"))
    (home / ".codex").mkdir()
    (home / ".codex" / "config.toml").write_text('model = "gpt-5-codex"\n')
    sessions = home / ".claude" / "projects" / "-home-me-app"
    sessions.mkdir(parents=True)
    (sessions / "s9.jsonl").write_text(json.dumps({"sessionId": "s9", "message": {"content": f"key {ant}"}}) + "\n")
    (home / "project").mkdir()
    (home / "project" / ".env").write_text(f"OPENAI_API_KEY={key}\n")  # not an agent location
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in home.rglob("*") if p.is_file()}
    env = {**os.environ, "HOME": str(home)}
    env.pop("CODEX_HOME", None)
    p = keyguard("scan", "--agents", "--format", "json", env=env)
    err = p.stderr
    assert p.returncode == 1, err
    report = json.loads(p.stdout)
    assert "keyguard: Cursor: ~/.cursor/mcp.json" in err and "keyguard: Codex: ~/.codex/config.toml" in err
    assert "keyguard: Claude Code: ~/.claude/projects" in err
    assert "keyguard: Claude Code: 1 location(s), 1 file(s), 1 finding" in err
    assert "keyguard: Cursor: 1 location(s), 1 file(s), 2 findings" in err
    assert "keyguard: Codex: 1 location(s), 1 file(s), 0 findings" in err
    assert report["stats"]["agents"]["Cursor"]["findings"] == 2
    assert sorted({f["path"] for f in report["findings"]}) == [
        "~/.claude/projects/-home-me-app/s9.jsonl", "~/.cursor/mcp.json"]
    for out in (p.stdout, err):
        assert key not in out and ant not in out  # reports never hold a full key
    text = keyguard("scan", "--agents", "--no-color", env=env)
    assert key not in text.stdout and "~/.cursor/mcp.json" in text.stdout
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in home.rglob("*") if p.is_file()} == before
    bad = keyguard("scan", "--agents", str(home), env=env)
    assert bad.returncode == 2 and "give no target" in bad.stderr


def test_scan_agents_with_nothing_there(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("CODEX_HOME", None)
    p = keyguard("scan", "--agents", env=env)
    assert p.returncode == 0 and "no known agent location exists" in p.stderr
