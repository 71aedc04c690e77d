"""Every rule's own examples, and a factory-built key for every rule."""
from __future__ import annotations

import pytest

from keyguard.engine import Engine
from keyguard.model import ScanText, Stats
from keyguard.rules import load_rules

from .factories import key_for, line_for

RULES = load_rules()
ENGINE = Engine(RULES)


def _found(text: str) -> set[str]:
    return {f.rule.id for f in ENGINE.scan(ScanText(text, "example"), Stats())}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_examples_and_remediation(rule):
    assert rule.positives, f"{rule.id} has no positive example"
    assert rule.negatives, f"{rule.id} has no negative example"
    assert rule.remediation, f"{rule.id} has no remediation"
    assert rule.description, f"{rule.id} has no description"


@pytest.mark.parametrize(
    "rule,example", [(r, e) for r in RULES for e in r.positives], ids=lambda x: getattr(x, "id", "")
)
def test_positive_example_is_found(rule, example):
    assert rule.id in _found(example), f"{rule.id} misses its positive example {example!r}"


@pytest.mark.parametrize(
    "rule,example", [(r, e) for r in RULES for e in r.negatives], ids=lambda x: getattr(x, "id", "")
)
def test_negative_example_is_not_found(rule, example):
    assert rule.id not in _found(example), f"{rule.id} fires on its negative example {example!r}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_factory_key_is_found(rule):
    for seed in range(3):
        key = key_for(rule, seed)
        text = f"# config\n{line_for(rule, key)}\n"
        assert rule.id in _found(text), f"{rule.id} misses factory key in {text!r}"


@pytest.mark.parametrize("field, value, message", [
    ("provider", [1], "provider must be a name"),
    ("provider", {"a": 1}, "provider must be a name"),
    ("min_entropy", "nan", "min_entropy must be a number from 0 to 8"),
    ("min_entropy", -1, "min_entropy must be a number from 0 to 8"),
    ("min_entropy", 99, "min_entropy must be a number from 0 to 8"),
])
def test_rule_fields_are_validated(field, value, message):
    from keyguard.rules import RuleError, build_rule

    raw = {"id": "acme-key", "provider": "acme", "name": "Acme", "regex": "acme_[a-z0-9]{20}",
           "keywords": ["acme_"], "severity": "high", field: value}
    with pytest.raises(RuleError, match=message):
        build_rule(raw, "acme.yml: rule 'acme-key'")
    build_rule({**raw, field: {"provider": "acme", "min_entropy": 3.5}[field]}, "acme.yml")
