"""MCP and agent config files in a temp home, in each agent's documented shape."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from keyguard.model import Stats
from keyguard.pipeline.scanner import Detection, Scanner
from keyguard.sources import agent_locations
from keyguard.sources.agent_configs import agent_config_kind, config_texts, strip_jsonc


def scan_config(path: Path, rules, display: str | None = None):
    stats = Stats()
    texts = config_texts(path.read_text(), display or str(path), stats, abs_path=str(path))
    found = Scanner(Detection(list(rules.values()))).scan(texts, stats)
    return found, stats


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def write(home: Path, rel: str, text: str) -> Path:
    p = home / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def by_path(found) -> dict[str, object]:
    return {f.origin["json_path"]: f for f in found}


# a value no provider rule knows, under a key-named variable (random: built at run time)
def acme_value(seed: int) -> str:
    import random
    import string

    rnd = random.Random(seed)
    return "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(28))


def test_claude_desktop_env_keys_and_references(tmp_path, rules, make_key):
    key = make_key("anthropic-api-key")
    acme = acme_value(1)
    short = acme_value(11)[:14]
    cfg = write(tmp_path, ".config/Claude/claude_desktop_config.json", json.dumps({
        "mcpServers": {
            "anthropic": {"command": "npx", "args": ["-y", "some-server"],
                          "env": {"ANTHROPIC_API_KEY": key, "LOG_LEVEL": "debug-verbose"}},
            "acme": {"command": "uvx", "args": ["acme-mcp"],
                     "env": {"ACME_API_KEY": acme, "ACME_TOKEN": "${ACME_TOKEN}", "ACME_PASSWORD": short,
                             "ACME_SECRET": "your-secret-here", "ACME_API_URL": "https://acme.example/v1"}},
        }}, indent=2))
    assert agent_config_kind(str(cfg)) == "Claude Desktop"
    found, stats = scan_config(cfg, rules)
    got = by_path(found)
    assert set(got) == {"mcpServers.anthropic.env.ANTHROPIC_API_KEY", "mcpServers.acme.env.ACME_API_KEY",
                        "mcpServers.acme.env.ACME_PASSWORD"}
    p = got["mcpServers.acme.env.ACME_PASSWORD"]
    assert (p.rule.id, p.secret, p.severity) == ("agent-config-key-named-value", short, "medium")
    a = got["mcpServers.anthropic.env.ANTHROPIC_API_KEY"]
    assert a.rule.id == "anthropic-api-key" and a.secret == key
    assert a.line == line_of(cfg, key)
    line = cfg.read_text().splitlines()[a.line - 1]
    assert line[a.column - 1:a.end_column - 1] == key
    g = got["mcpServers.acme.env.ACME_API_KEY"]
    # a long random value may also be the generic assignment rule's; a short one is the pack's only
    assert g.rule.id in ("agent-config-key-named-value", "generic-api-key-assignment") and g.secret == acme
    assert g.origin["variable"] == "ACME_API_KEY" and g.origin["agent_config"] == "Claude Desktop"
    assert cfg.read_text().splitlines()[g.line - 1][g.column - 1:g.end_column - 1] == acme
    assert stats.extra["agent_configs"] == [{"path": str(cfg), "agent": "Claude Desktop"}]


def test_project_mcp_json_headers_and_url(tmp_path, rules, make_key):
    gh = make_key("github-personal-access-token")
    acme = acme_value(2)
    cfg = write(tmp_path, "repo/.mcp.json", json.dumps({
        "mcpServers": {
            "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/",
                       "headers": {"Authorization": f"Bearer {gh}"}},
            "search": {"type": "http", "url": f"https://mcp.acme.example/sse?api_key={acme}&region=eu"},
            "safe": {"type": "http", "url": "https://mcp.example/x",
                     "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"}},
        }}, indent=2))
    found, _ = scan_config(cfg, rules)
    got = by_path(found)
    assert got["mcpServers.github.headers.Authorization"].secret == gh
    assert got["mcpServers.search.url"].secret == acme
    assert got["mcpServers.search.url"].origin["variable"] == "api_key"
    assert "mcpServers.safe.headers.Authorization" not in got


def test_user_claude_json_local_scope_and_settings_permissions(tmp_path, rules, make_key):
    oa = make_key("openai-project-key")
    groq = make_key("groq-api-key")
    cj = write(tmp_path, ".claude.json", json.dumps({
        "numStartups": 12,
        "projects": {"/home/me/app": {"mcpServers": {"openai": {"command": "npx", "args": ["srv"],
                                                                "env": {"OPENAI_API_KEY": oa}}}}},
    }, indent=2))
    found, _ = scan_config(cj, rules)
    assert [f.origin["json_path"] for f in found] == ['projects["/home/me/app"].mcpServers.openai.env.OPENAI_API_KEY']
    settings = write(tmp_path, "repo/.claude/settings.local.json", json.dumps({
        "permissions": {"allow": ["Bash(npm test)",
                                  f'Bash(curl -H "Authorization: Bearer {groq}" https://api.groq.com/openai/v1/models)']},
    }, indent=2))
    assert agent_config_kind(str(settings)) == "Claude Code"
    found, _ = scan_config(settings, rules)
    assert [(f.rule.id, f.origin["json_path"]) for f in found] == [("groq-api-key", "permissions.allow[1]")]
    assert found[0].line == line_of(settings, groq)


def test_cursor_jsonc_with_comments_and_trailing_commas(tmp_path, rules, make_key):
    xai = make_key("xai-api-key")
    cfg = write(tmp_path, ".cursor/mcp.json", (
        '{\n  // the servers\n  "mcpServers": {\n    "grok": {\n      "command": "npx", /* inline */\n'
        f'      "env": {{"XAI_API_KEY": "{xai}", "OTHER_KEY": "${{env:OTHER_KEY}}",}},\n'
        '    },\n  },\n}\n'))
    found, stats = scan_config(cfg, rules)
    assert [(f.secret, f.line) for f in found] == [(xai, 6)]
    assert "agent_configs_malformed" not in stats.extra
    # comments become spaces: lines and columns stay where they were
    assert len(strip_jsonc(cfg.read_text())) == len(cfg.read_text())


def test_vscode_inputs_are_not_keys_but_literals_are(tmp_path, rules, make_key):
    ppx = make_key("perplexity-api-key")
    cfg = write(tmp_path, "repo/.vscode/mcp.json", json.dumps({
        "inputs": [{"type": "promptString", "id": "perplexity-key", "description": "Perplexity API Key",
                    "password": True}],
        "servers": {
            "ppx": {"type": "stdio", "command": "npx", "args": ["-y", "server-perplexity-ask"],
                    "env": {"PERPLEXITY_API_KEY": "${input:perplexity-key}"}},
            "ppx2": {"type": "stdio", "command": "npx", "args": ["-y", "srv", "--api-key", ppx]},
        }}, indent=2))
    assert agent_config_kind(str(cfg)) == "VS Code"
    found, _ = scan_config(cfg, rules)
    assert [(f.secret, f.origin["json_path"]) for f in found] == [(ppx, "servers.ppx2.args[3]")]


def test_codex_config_toml(tmp_path, rules, make_key):
    oa = make_key("openai-project-key")
    acme = acme_value(3)
    cfg = write(tmp_path, ".codex/config.toml", (
        'model = "gpt-5-codex"\n\n[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "docs-mcp"]\n'
        f'env = {{ "OPENAI_API_KEY" = "{oa}" }}\n\n'
        '[mcp_servers.remote]\nurl = "https://mcp.acme.example/mcp"\nbearer_token_env_var = "ACME_TOKEN"\n'
        f'http_headers = {{ "X-Api-Key" = "{acme}" }}\nenv_http_headers = {{ "X-Other-Key" = "OTHER_KEY_VARIABLE" }}\n'))
    assert agent_config_kind(str(cfg)) == "Codex"
    found, _ = scan_config(cfg, rules)
    got = by_path(found)
    assert set(got) == {"mcp_servers.docs.env.OPENAI_API_KEY", "mcp_servers.remote.http_headers.X-Api-Key"}
    assert got["mcp_servers.docs.env.OPENAI_API_KEY"].line == line_of(cfg, oa)
    assert got["mcp_servers.remote.http_headers.X-Api-Key"].secret == acme


def test_gemini_and_windsurf(tmp_path, rules, make_key):
    gh = make_key("github-personal-access-token")
    g = write(tmp_path, ".gemini/settings.json", json.dumps({
        "theme": "Dracula", "mcpServers": {"github": {"httpUrl": "https://api.githubcopilot.com/mcp/",
                                                      "headers": {"Authorization": gh}, "timeout": 5000},
                                           "ref": {"command": "x", "env": {"API_TOKEN": "$API_TOKEN"}}}}))
    w = write(tmp_path, ".codeium/windsurf/mcp_config.json", json.dumps({
        "mcpServers": {"u": {"serverUrl": "https://api.example.com/v1/mcp",
                             "headers": {"Authorization": "Bearer ${env:USERJOT_API_TOKEN}"}}}}))
    assert agent_config_kind(str(g)) == "Gemini CLI" and agent_config_kind(str(w)) == "Windsurf"
    found, _ = scan_config(g, rules)
    assert [(f.secret, f.origin["json_path"]) for f in found] == [(gh, "mcpServers.github.headers.Authorization")]
    assert scan_config(w, rules)[0] == []


def test_malformed_config_is_scanned_as_text_and_named(tmp_path, rules, make_key):
    key = make_key("anthropic-api-key")
    cfg = write(tmp_path, "repo/.mcp.json", '{"mcpServers": {"a": {"env": {"ANTHROPIC_API_KEY": "' + key + '"\n')
    found, stats = scan_config(cfg, rules)
    assert [f.secret for f in found] == [key] and found[0].line == 1
    assert found[0].origin["malformed"] is True
    (entry,) = stats.extra["agent_configs_malformed"]
    assert entry["path"] == str(cfg) and entry["error"].startswith("not valid JSON")


@pytest.mark.parametrize("rel,agent", [
    (".claude.json", "Claude Code"), (".claude/settings.json", "Claude Code"),
    (".cursor/mcp.json", "Cursor"), (".codex/config.toml", "Codex"), (".gemini/settings.json", "Gemini CLI"),
    (".codeium/windsurf/mcp_config.json", "Windsurf"), ("Library/Application Support/Claude/claude_desktop_config.json",
                                                        "Claude Desktop"),
])
def test_locations_under_a_home(tmp_path, rel, agent):
    write(tmp_path, rel, "{}")
    (tmp_path / ".claude" / "projects" / "-home-me-app").mkdir(parents=True, exist_ok=True)
    (tmp_path / ".claude" / "projects" / "-home-me-app" / "s1.jsonl").write_text("{}\n")
    found = agent_locations.existing(str(tmp_path))
    rels = {(f.location.agent, f.location.path) for f in found}
    assert (agent, rel) in rels and ("Claude Code", ".claude/projects") in rels
    assert len(rels) == (2 if rel != ".claude/projects" else 1)
    transcripts = [f for f in found if f.location.kind == "transcripts"]
    assert list(agent_locations.files(transcripts[0])) == [
        str(tmp_path / ".claude" / "projects" / "-home-me-app" / "s1.jsonl")]
    assert agent_locations.kind_of(str(tmp_path / rel)) == ("config", agent)


def test_codex_home_stands_in_for_dot_codex(tmp_path):
    write(tmp_path, "elsewhere/config.toml", "")
    (tmp_path / "elsewhere" / "sessions" / "2026" / "01" / "02").mkdir(parents=True)
    found = agent_locations.existing(str(tmp_path / "home"), codex_home=str(tmp_path / "elsewhere"))
    assert {f.location.path for f in found} == {".codex/config.toml", ".codex/sessions"}


def test_generic_finding_raised_and_committed_or_published_config_at_least_high(tmp_path, rules, make_key):
    acme = acme_value(4)
    text = json.dumps({"mcpServers": {"acme": {"env": {"ACME_API_KEY": acme}}}}, indent=2)
    scanner = Scanner(Detection(list(rules.values())))

    def scan(**kw):
        stats = Stats()
        return scanner.scan(config_texts(text, "repo/.mcp.json", stats, **kw), stats)

    (local,) = scan()
    assert local.severity == "medium" and local.secret == acme
    (committed,) = scan(commit={"sha": "0" * 40})
    assert committed.severity == "high" and "committed to git" in committed.reasons[-1]
    (shipped,) = scan(published=True)
    assert shipped.severity == "high" and "published package" in shipped.reasons[-1]
    # a provider key's severity is kept when it is already high or worse
    key = make_key("anthropic-api-key")
    text = json.dumps({"mcpServers": {"a": {"env": {"ANTHROPIC_API_KEY": key}}}})
    (f,) = scan(commit={"sha": "0" * 40})
    assert rules["anthropic-api-key"].severity in ("high", "critical")
    assert f.severity == rules["anthropic-api-key"].severity


def test_home_texts_per_agent_summary(tmp_path, rules, make_key):
    from keyguard.sources.agents import as_dict, count_findings, home_texts, reader_for

    key, other = make_key("openai-project-key"), make_key("groq-api-key")
    write(tmp_path, ".cursor/mcp.json", json.dumps({"mcpServers": {"o": {"env": {"OPENAI_API_KEY": key}}}}))
    write(tmp_path, ".gemini/settings.json", json.dumps({"theme": "Dracula"}))
    write(tmp_path, ".claude/projects/-home-me-app/s1.jsonl",
          json.dumps({"sessionId": "s1", "message": {"content": f"GROQ_API_KEY={other}"}}) + "\n")
    write(tmp_path, "unrelated/.mcp.json", json.dumps({"mcpServers": {"o": {"env": {"OPENAI_API_KEY": key}}}}))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    stats = Stats()
    seen = []
    summary, texts = home_texts(str(tmp_path), stats, on_location=lambda f: seen.append(f.location.path))
    found = Scanner(Detection(list(rules.values()))).scan(texts, stats)
    count_findings(summary, found)
    assert as_dict(summary) == {
        "Claude Code": {"locations": ["~/.claude/projects"], "files": 1, "findings": 1},
        "Cursor": {"locations": ["~/.cursor/mcp.json"], "files": 1, "findings": 1},
        "Gemini CLI": {"locations": ["~/.gemini/settings.json"], "files": 1, "findings": 0},
    }
    assert sorted(seen) == [".claude/projects", ".cursor/mcp.json", ".gemini/settings.json"]
    assert sorted(f.path for f in found) == ["~/.claude/projects/-home-me-app/s1.jsonl", "~/.cursor/mcp.json"]
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # read-only
    assert reader_for("a/.claude/projects/x/s.jsonl") == "transcript" and reader_for("a/.mcp.json") == "config"
    assert reader_for("a/notes.jsonl") is None
