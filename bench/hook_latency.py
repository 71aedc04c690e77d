"""How long `keyguard hook claude-code` takes on a 10 KB event: its own process, interpreter
start-up included (the cost Claude Code pays on every prompt and tool call).

    python bench/hook_latency.py [--keyguard PATH] [--runs 20]

Three events of about 10 KB: a clean PostToolUse (a file read), the same with a key in it
(blocked, exit 2) and a clean UserPromptSubmit. Prints median and min per event, and `python -c
pass` for the interpreter's own start-up.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def events() -> dict[str, bytes]:
    from keyguard.ruleset import load_rules
    from tests.factories import key_for

    rules = {r.id: r for r in load_rules()}
    key = key_for(rules["openai-project-key"], 7)
    source = (ROOT / "keyguard" / "detect" / "engine.py").read_text()[:10_000]
    read = {"session_id": "b1c7", "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp",
            "hook_event_name": "PostToolUse", "tool_name": "Read",
            "tool_input": {"file_path": "/tmp/engine.py"},
            "tool_response": {"type": "text", "file": {"filePath": "/tmp/engine.py", "content": source}}}
    leaked = json.loads(json.dumps(read))
    content = leaked["tool_response"]["file"]["content"]
    leaked["tool_response"]["file"]["content"] = content[:5000] + f'\nOPENAI_API_KEY="{key}"\n' + content[5000:]
    prompt = {"session_id": "b1c7", "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp",
              "hook_event_name": "UserPromptSubmit", "prompt": source}
    return {name: json.dumps(e).encode() for name, e in
            (("PostToolUse, clean", read), ("PostToolUse, key (blocked)", leaked),
             ("UserPromptSubmit, clean", prompt))}


def timed(cmd: list[str], data: bytes, runs: int) -> tuple[float, float, float, int]:
    """Median and min wall time, and the median CPU time (user + system) of the process: on a
    machine shared with other jobs, CPU time says more about keyguard than wall time."""
    ts, cpu, rc = [], [], 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        rc = subprocess.run(cmd, input=data, capture_output=True).returncode
        ts.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(ts) * 1000, min(ts) * 1000, statistics.median(cpu) * 1000, rc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--keyguard", default=shutil.which("keyguard", path=str(Path(sys.executable).parent)))
    a = ap.parse_args()
    med, best, cpu, _ = timed([sys.executable, "-c", "pass"], b"", a.runs)
    print(f"{'python -c pass':40} median {med:6.1f} ms   min {best:6.1f} ms   cpu {cpu:6.1f} ms")
    for name, data in events().items():
        med, best, cpu, rc = timed([a.keyguard, "hook", "claude-code"], data, a.runs)
        print(f"{name + f' ({len(data) // 1024} KB)':40} median {med:6.1f} ms   min {best:6.1f} ms   "
              f"cpu {cpu:6.1f} ms   exit {rc}")


if __name__ == "__main__":
    main()
