"""Run keyguard in tests — in this process through click's ``CliRunner`` (``invoke``), or as a
real subprocess where the process is the point (``keyguard``: hooks, signals, packaging) — and
build files holding factory-made keys."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from keyguard.ruleset.load import load_rules

from .factories import key_for

RULES = {r.id: r for r in load_rules()}


def key(rule_id: str, seed: int) -> str:
    return key_for(RULES[rule_id], seed)


def keyguard(*args: str, cwd: str | Path | None = None, stdin: str | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args], cwd=cwd, capture_output=True, text=True,
        input=stdin, env=env, timeout=120,
    )


@dataclass
class Invoked:
    returncode: int
    stdout: str
    stderr: str


def invoke(*args: str, cwd: str | Path | None = None, stdin: str | None = None,
           env: dict[str, str] | None = None) -> Invoked:
    """The command line run in this process, as ``keyguard.cli.main`` runs it."""
    from click.testing import CliRunner

    from keyguard.cli import cli, crash_line

    with contextlib.chdir(cwd or os.getcwd()):
        result = CliRunner().invoke(cli, list(args), input=stdin, env=env, catch_exceptions=True)
    code, err = result.exit_code, result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        code, err = 2, err + crash_line(result.exception) + "\n"  # what main() does
    return Invoked(code, result.stdout, err)


def scan_report(*args: str, cwd: str | Path | None = None) -> tuple[int, dict]:
    """``keyguard scan ARGS --format json`` in this process: (exit code, the whole report)."""
    r = invoke("scan", *args, "--format", "json", cwd=cwd)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def scan_json(cwd: Path, *args: str) -> tuple[int, list[dict]]:
    """``keyguard scan ARGS --format json`` in ``cwd``: (exit code, the findings)."""
    code, doc = scan_report(*args, cwd=cwd)
    return code, doc["findings"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
