"""Texts built to make the engine's bookkeeping quadratic: each of these took minutes before the
work per hit was bounded (a 1.6 MB base64 run of a keyword: ~10 minutes). They must finish and
find exactly what is there; the suite would hang on a regression."""
from __future__ import annotations

import base64
import hashlib

import pytest

from keyguard.detect.engine import Engine
from keyguard.model import ScanText, Stats

from ..factories import key_for


@pytest.fixture(scope="module", params=[True, False], ids=["hyperscan", "plain"])
def engine(request, rules):
    return Engine(list(rules.values()), fast=request.param)


def many_keys(rule, n: int) -> list[str]:
    """``n`` distinct keys of ``rule``: one factory key with its tail replaced (key_for is slow)."""
    base = key_for(rule, 1)
    keys = [base[:-10] + hashlib.sha256(str(i).encode()).hexdigest()[:10] for i in range(n)]
    assert all(rule.compiled.fullmatch(k) for k in keys[:50])
    return keys


def scan(engine: Engine, text: str) -> list:
    return engine.scan(ScanText(text, "hostile.txt"), Stats())


def test_one_long_base64_run_full_of_a_keyword_fingerprint(engine):
    # every 12 bytes "AIza": the base64 text holds the keyword's fingerprint ~130k times
    text = base64.b64encode(b"AIzaxxxxxxxx" * 100_000).decode()
    assert scan(engine, text) == []


def test_a_real_key_inside_a_long_base64_run_is_still_found(engine, rules):
    key = key_for(rules["google-api-key"], 7)
    text = "blob: " + base64.b64encode(b"AIzaxxxxxxxx" * 20_000 + f" k={key} ".encode()).decode()
    found = scan(engine, text)
    assert [f.secret for f in found] == [key]
    assert found[0].origin["encoding"] == "base64" and found[0].line == 1 and found[0].column == 7


def test_thousands_of_keys_on_one_line_and_on_many_lines(engine, rules):
    keys = many_keys(rules["google-api-key"], 10_000)
    one_line = " ".join(keys)
    found = scan(engine, one_line)
    assert [f.secret for f in found] == keys
    assert found[-1].line == 1 and found[-1].column == len(one_line) - len(keys[-1]) + 1
    found = scan(engine, "\n".join("k=" + k for k in keys))
    assert [(f.line, f.column, f.origin.get("variable")) for f in found[-2:]] == [
        (9_999, 3, "k"), (10_000, 3, "k")]


def test_keywords_and_context_words_by_the_hundred_thousand(engine):
    for text in ("AIza" * 500_000, "AIza\n" * 400_000, "gemini api key " * 130_000,
                 "gemini api key\n" * 130_000, "MISTRAL_API_KEY=" * 120_000):
        assert scan(engine, text) == []


def test_allow_marker_far_away_on_a_minified_line_does_not_hide_a_key(engine, rules):
    key = key_for(rules["google-api-key"], 8)
    near = f'var a="{key}"; // keyguard:allow'
    far = f'var a="{key}";' + "x;" * 5000 + "// keyguard:allow"
    assert scan(engine, near) == []
    assert [f.secret for f in scan(engine, far)] == [key]
