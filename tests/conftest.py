from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from keyguard.ruleset.load import load_rules

from .bundler import esbuild_exe
from .factories import key_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def rules():
    return {r.id: r for r in load_rules()}


@pytest.fixture
def make_key(rules):
    """make_key("google-api-key", seed) -> a fresh format-true fake key."""
    counter = iter(range(10_000))

    def make(rule_id: str, seed: int | None = None) -> str:
        return key_for(rules[rule_id], seed if seed is not None else 1000 + next(counter))

    return make


def run_keyguard(*args: str, input: bytes | None = None, cwd: str | Path | None = None,
                 env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args], input=input, capture_output=True,
        cwd=cwd, env=env, timeout=120,
    )


def scan_json(*args: str, **kw) -> tuple[int, dict]:
    p = run_keyguard("scan", *args, "--format", "json", **kw)
    assert p.returncode in (0, 1), p.stderr.decode()
    return p.returncode, json.loads(p.stdout)


@pytest.fixture(scope="session")
def esbuild() -> Path:
    """The esbuild binary, installed from npm into a cache folder once (tests/bundler.py)."""
    return esbuild_exe()
