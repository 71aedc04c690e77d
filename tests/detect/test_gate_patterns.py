"""The byte gate's Hyperscan patterns stand in for their rules' keywords, so each must match
wherever its rule can: a pattern that asks less of a repeat (``GATE_MIN_REPEAT``) than its rule
is still a necessary condition, never a narrower one."""
from __future__ import annotations

import pytest

from keyguard.detect.hyperscan import GATE_MIN_REPEAT, gate_patterns, open_repeats
from keyguard.ruleset.load import load_rules

hs = pytest.importorskip("hyperscan")


def test_every_rules_gate_pattern_matches_each_of_its_positive_examples() -> None:
    checked = 0
    for rule in load_rules():
        patterns, _ = gate_patterns([rule])
        patterns = [p for p in patterns if b"sourceMappingURL" not in p]
        if not patterns:
            continue
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        db.compile(expressions=patterns, ids=list(range(len(patterns))), elements=len(patterns),
                   flags=[hs.HS_FLAG_SINGLEMATCH] * len(patterns))
        for example in rule.positives:
            hits: list[int] = []
            db.scan(example.encode("utf-8"), match_event_handler=lambda i, *_: hits.append(i))
            assert hits, (rule.id, patterns)
            checked += 1
    assert checked > 50  # the rules with a pattern of their own, and their examples


def test_long_repeats_are_asked_only_up_to_the_gates_minimum() -> None:
    assert open_repeats("xai-token-[A-Za-z0-9]{80}", GATE_MIN_REPEAT) == "xai-token-[A-Za-z0-9]{24,}"
    assert open_repeats("flp_[A-Za-z0-9]{46}", GATE_MIN_REPEAT) == "flp_[A-Za-z0-9]{24,}"
    assert open_repeats("sk_car_[A-Za-z0-9]{20,24}", GATE_MIN_REPEAT) == "sk_car_[A-Za-z0-9]{20,}"
    assert open_repeats("r8_[A-Za-z0-9]{4}x{3,5}", GATE_MIN_REPEAT) == "r8_[A-Za-z0-9]{4}x{3,}"
    # in a class or escaped, a brace is a character, not a repeat
    assert open_repeats(r"[{]{3}\{40}", GATE_MIN_REPEAT) == r"[{]{3}\{40}"
    assert open_repeats("a{40}") == "a{40}"  # the engine's own patterns keep exact repeats
