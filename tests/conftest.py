from __future__ import annotations

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


@pytest.fixture(scope="session")
def esbuild() -> Path:
    """The esbuild binary, installed from npm into a cache folder once (tests/bundler.py)."""
    return esbuild_exe()
