"""The Hyperscan prefilter and the str.find prefilter give identical findings."""
from __future__ import annotations

import base64
import random

import pytest

from keyguard.engine import Engine
from keyguard.model import ScanText, Stats
from keyguard.prefilter import base64_fingerprints, hyperscan_available

from .factories import key_for, line_for

pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan wheel not installed")


def _corpus(rules, seed: int, ascii: bool = False) -> str:
    rnd = random.Random(seed)
    noise = ("function(a){return a.b+c}" + ("token=1;" if ascii else "ünïcödé;")) * 40 + "\n"
    parts = []
    for i, rule in enumerate(rules * 3):
        key = key_for(rule, seed * 1000 + i)
        line = line_for(rule, key)
        roll = rnd.random()
        if roll < 0.25:
            line = "data:\n  value: " + base64.b64encode((line + "\n").encode()).decode()
        elif roll < 0.5:
            line = noise.strip() + line
        parts.append(noise * rnd.randint(1, 30) + line + "\n")
    return "".join(parts)


@pytest.mark.parametrize("seed,ascii", [(1, False), (2, False), (3, True), (4, True)])
def test_fast_and_plain_paths_find_the_same(rules, seed, ascii):
    rule_list = list(rules.values())
    text = _corpus(rule_list, seed, ascii)
    # keys glued to look-alike assignments: windows that Hyperscan's rule ends narrow
    text += "".join(
        f'x.api_key="{key_for(r, i)}";client_secret:"{"Ab1" * 9}",token="{key_for(r, i + 1)}"'
        + ("\n" if ascii else ';/* ünï */ tökén="' + key_for(r, i + 2) + '"\n')
        for i, r in enumerate(rule_list * 2)
    )
    assert text.isascii() == ascii
    assert len(text) > 256 * 1024
    fast, plain = Engine(rule_list, fast=True), Engine(rule_list, fast=False)
    def key(f):
        return (f.rule.id, f.line, f.column, f.end_line, f.end_column, f.secret, sorted(f.origin.items()))
    got_fast = sorted(map(key, fast.scan(ScanText(text, "c"), Stats())))
    got_plain = sorted(map(key, plain.scan(ScanText(text, "c"), Stats())))
    assert fast._hyperscan is not None and plain._hyperscan is None
    covered = {rule_list[i].id for i in fast._rule_ends._bytes[1]}
    assert {"generic-api-key-assignment", "google-api-key"} <= covered  # rule ends narrow these
    assert got_fast == got_plain
    assert len(got_plain) >= len(rule_list)


def test_base64_fingerprints_find_the_keyword_at_every_alignment():
    for pad in range(6):
        for word in ("sk-proj-", "AIza", "deepseek"):
            enc = base64.b64encode(b"x" * pad + f"K={word.upper()}1234".encode()).decode()
            enc2 = base64.b64encode(b"x" * pad + f"K={word}1234".encode()).decode()
            fps = base64_fingerprints(word)
            assert any(fp in enc for fp in fps) and any(fp in enc2 for fp in fps), (pad, word)
