"""Run the real ``keyguard`` command in a directory; build files holding factory-made keys."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from keyguard.ruleset.load import load_rules

from .factories import key_for

RULES = {r.id: r for r in load_rules()}


def key(rule_id: str, seed: int) -> str:
    return key_for(RULES[rule_id], seed)


def keyguard(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args], cwd=cwd, capture_output=True, text=True,
        input=stdin, timeout=120,
    )


def scan_json(cwd: Path, *args: str) -> tuple[int, list[dict]]:
    r = keyguard("scan", *args, "--format", "json", cwd=cwd)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)["findings"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
