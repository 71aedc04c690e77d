"""Agent transcripts (JSONL) as a stream: Claude Code and Codex records, escaped JSON in tool
results, a 200 MB file in bounded memory."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from keyguard.model import Stats
from keyguard.pipeline.scanner import Detection, Scanner
from keyguard.sources.transcripts import transcript_agent, transcript_texts

SESSION = "3f1c2b9e-7d41-4a8e-9c55-0b7e1d2a4f60"


def scan(path: Path, rules):
    stats = Stats()
    found = Scanner(Detection(list(rules.values()))).scan(transcript_texts(str(path), stats=stats), stats)
    return found, stats


def claude_records(key_in_result: str, key_in_prompt: str) -> list[dict]:
    # the shapes Claude Code writes: a user prompt, an assistant tool_use, the tool_result whose
    # content is the tool's output as one string (here an MCP tool's JSON, escaped once more)
    mcp_output = json.dumps({"config": {"provider": "anthropic", "apiKey": key_in_result}})
    return [
        {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/home/me/app",
         "sessionId": SESSION, "version": "2.1.3", "type": "user",
         "message": {"role": "user", "content": f"use this key for the test: {key_in_prompt}"},
         "uuid": "u1", "timestamp": "2026-11-30T10:00:00.000Z"},
        {"parentUuid": "u1", "sessionId": SESSION, "type": "assistant", "uuid": "a1",
         "timestamp": "2026-11-30T10:00:01.000Z",
         "message": {"role": "assistant", "content": [
             {"type": "tool_use", "id": "toolu_01", "name": "mcp__cfg__read", "input": {"name": "prod"}}]}},
        {"parentUuid": "a1", "sessionId": SESSION, "type": "user", "uuid": "u2",
         "timestamp": "2026-11-30T10:00:02.000Z",
         "message": {"role": "user", "content": [
             {"tool_use_id": "toolu_01", "type": "tool_result", "content": mcp_output}]},
         "toolUseResult": {"stdout": mcp_output, "stderr": "", "interrupted": False}},
    ]


def test_claude_code_transcript_escaped_tool_result(tmp_path, rules, make_key):
    in_result, in_prompt = make_key("anthropic-api-key"), make_key("openai-project-key")
    path = tmp_path / ".claude" / "projects" / "-home-me-app" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in claude_records(in_result, in_prompt)))
    assert f'\\"{in_result}\\"' in path.read_text()  # escaped: \" around it in the raw line
    assert transcript_agent(str(path)) == "Claude Code"
    found, stats = scan(path, rules)
    got = {f.secret: f for f in found}
    assert set(got) == {in_result, in_prompt} and len(found) == 2  # toolUseResult repeats the output
    p, r = got[in_prompt], got[in_result]
    assert (p.line, p.origin["json_path"], p.origin["session_id"], p.origin["timestamp"]) == (
        1, "message.content", SESSION, "2026-11-30T10:00:00.000Z")
    assert (r.line, r.origin["json_path"], r.origin["transcript"]) == (
        3, "message.content[0].content<json>.config.apiKey", "Claude Code")
    assert stats.extra["transcripts"] == [{"path": str(path), "agent": "Claude Code", "lines": 3,
                                           "unparsed_lines": 0}]


def test_codex_rollout_session_from_meta_and_unparsed_line(tmp_path, rules, make_key):
    key, other = make_key("groq-api-key"), make_key("xai-api-key")
    path = tmp_path / ".codex" / "sessions" / "2026" / "11" / "30" / f"rollout-2026-11-30T10-00-00-{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    lines = [
        {"timestamp": "2026-11-30T10:00:00.000Z", "type": "session_meta",
         "payload": {"id": SESSION, "cwd": "/home/me/app", "originator": "codex_cli_rs"}},
        {"timestamp": "2026-11-30T10:00:05.000Z", "type": "response_item",
         "payload": {"type": "function_call_output", "call_id": "call_1",
                     "output": json.dumps({"output": f"GROQ_API_KEY={key}\n", "metadata": {"exit_code": 0}})}},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines) + f'{{"truncated": "XAI_API_KEY={other}\n')
    assert transcript_agent(str(path)) == "Codex"
    found, stats = scan(path, rules)
    got = {f.secret: f for f in found}
    g = got[key]
    assert (g.line, g.origin["session_id"], g.origin["json_path"], g.origin["timestamp"]) == (
        2, SESSION, "payload.output<json>.output", "2026-11-30T10:00:05.000Z")
    assert got[other].line == 3 and got[other].origin["unparsed"] is True
    assert stats.extra["transcripts"][0]["unparsed_lines"] == 1


SCANNER = r"""
import json, sys
from keyguard.model import Stats
from keyguard.pipeline.scanner import Detection, Scanner
from keyguard.ruleset import load_rules
from keyguard.sources.transcripts import transcript_texts
stats = Stats()
found = Scanner(Detection(load_rules())).scan(transcript_texts(sys.argv[1], stats=stats), stats)
print(json.dumps({"found": [[f.rule.id, f.line, f.origin.get("json_path")] for f in found],
                  "peak_kib": int(next(ln.split()[1] for ln in open("/proc/self/status")
                                       if ln.startswith("VmHWM:")))}))
"""


def test_200_mb_transcript_in_bounded_memory(tmp_path, make_key):
    keys = [make_key("anthropic-api-key"), make_key("openai-project-key"), make_key("huggingface-token")]
    path = tmp_path / "big.jsonl"
    filler = ("def handler(event):\n    return {'status': 200, 'body': event}\n" * 40)[:3000]
    record = json.dumps({"sessionId": SESSION, "type": "user", "timestamp": "2026-11-30T10:00:00Z",
                         "message": {"role": "user", "content": [
                             {"type": "tool_result", "tool_use_id": "t", "content": filler}]}}) + "\n"
    per_mb = (1 << 20) // len(record) + 1
    total = 200 * per_mb
    where = {0: keys[0], total // 2: keys[1], total - 1: keys[2]}
    with open(path, "w") as fh:
        block = record * per_mb
        for i in range(0, total, per_mb):
            fh.write(block)
    # the three leaked records replace lines at the start, the middle and the end
    with open(path, "r+b") as fh:
        for line_index, key in where.items():
            leaked = json.dumps({"sessionId": SESSION, "type": "user", "message": {"content": [
                {"type": "tool_result", "content": json.dumps({"env": f"API_KEY={key}"})}]}})
            leaked = leaked + " " * (len(record) - 1 - len(leaked)) + "\n"
            assert len(leaked) == len(record)
            fh.seek(line_index * len(record))
            fh.write(leaked.encode())
    assert path.stat().st_size >= 200 * (1 << 20)
    p = subprocess.run([sys.executable, "-c", SCANNER, str(path)], capture_output=True, timeout=900)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    # the scanner's own peak: VmHWM of its address space (ru_maxrss would count the test worker it
    # was forked from, and RUSAGE_CHILDREN the largest child that worker ever ran)
    out = json.loads(p.stdout)
    found, peak_kib = out["found"], out["peak_kib"]
    assert sorted(line for _, line, _ in found) == sorted(i + 1 for i in where)
    assert {jp for _, _, jp in found} == {"message.content[0].content<json>.env"}
    # the file is 200 MB; the scanner's peak stays a fraction of it (interpreter, rules, one record)
    print(f"200 MB transcript: peak RSS {peak_kib // 1024} MiB")
    assert peak_kib < 160 * 1024, f"peak RSS {peak_kib} KiB"


def test_a_key_nested_deeper_than_the_walk_is_still_found(tmp_path, rules, make_key):
    key = make_key("anthropic-api-key")
    deep: object = {"apiKey": key}
    for _ in range(200):
        deep = {"d": deep}
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps({"sessionId": SESSION, "payload": deep}) + "\n")
    found, _ = scan(path, rules)
    assert [(f.secret, f.line) for f in found] == [(key, 1)]
    assert found[0].origin["json_path"].startswith("payload.d.d.")


def test_stats_name_at_most_a_thousand_transcripts(tmp_path):
    from keyguard.sources import jsonwalk

    stats = Stats()
    for i in range(1003):
        jsonwalk.note(stats, "transcripts", {"path": f"s{i}.jsonl"})
    assert len(stats.extra["transcripts"]) == 1000 and stats.extra["transcripts_more"] == 3
