"""Every rule's own examples, and a factory-built key for every rule."""
from __future__ import annotations

import pytest

from keyguard.detect.engine import Engine
from keyguard.model import ScanText, Stats
from keyguard.ruleset.check import check_examples
from keyguard.ruleset.load import load_rules

from ..factories import key_for, line_for

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


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_examples_pass_keyguard_rules_test(rule):
    """The check ``keyguard rules test`` runs: each positive found, each negative not."""
    report, failed = check_examples([rule])
    assert not failed, report


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
    from keyguard.ruleset.load import RuleError, build_rule

    raw = {"id": "acme-key", "provider": "acme", "name": "Acme", "regex": "acme_[a-z0-9]{20}",
           "keywords": ["acme_"], "severity": "high", field: value}
    with pytest.raises(RuleError, match=message):
        build_rule(raw, "acme.yml: rule 'acme-key'")
    build_rule({**raw, field: {"provider": "acme", "min_entropy": 3.5}[field]}, "acme.yml")


def test_builtin_rules_snapshot_is_current():
    """rules/builtin-rules.json spares the pre-commit hook PyYAML; after editing a rules file,
    refresh it with `python -m keyguard.ruleset` (a stale entry is ignored, not trusted)."""
    from keyguard.ruleset.load import SNAPSHOT_NAME, builtin_rules_dir, snapshot

    on_disk = (builtin_rules_dir() / SNAPSHOT_NAME).read_text(encoding="utf-8")
    assert on_disk == snapshot(), "rules/builtin-rules.json is stale: run `python -m keyguard.ruleset`"


def test_rules_from_the_snapshot_are_the_rules_from_yaml(monkeypatch):
    import keyguard.ruleset.load as rules_mod

    from_snapshot = rules_mod.load_rules()
    assert rules_mod._snapshot and rules_mod._snapshot.get("files")  # it was read
    monkeypatch.setattr(rules_mod, "_snapshot_data", lambda path, raw: None)  # YAML only
    from_yaml = rules_mod.load_rules()
    fields = ("id", "provider", "name", "description", "regex", "keywords", "severity", "remediation",
              "context", "context_lines", "min_entropy", "confidence", "references", "positives",
              "negatives")
    assert [tuple(getattr(r, f) for f in fields) for r in from_snapshot] == \
           [tuple(getattr(r, f) for f in fields) for r in from_yaml]
    assert sum(len(r.positives) for r in from_snapshot) > 50


def test_a_stale_snapshot_entry_is_not_used(monkeypatch):
    import keyguard.ruleset.load as rules_mod

    rules_mod.load_rules()
    path = rules_mod.rule_files(rules_mod.builtin_rules_dir())[0]
    raw = path.read_bytes()
    assert rules_mod._snapshot_data(path, raw) is not None
    assert rules_mod._snapshot_data(path, raw + b"\n# edited\n") is None


def test_loading_the_builtin_rules_does_not_import_yaml():
    import subprocess
    import sys

    code = ("import sys; from keyguard.ruleset.load import load_rules; n = len(load_rules()); "
            "print(n, 'yaml' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    n, yaml_loaded = r.stdout.split()
    assert int(n) >= 50 and yaml_loaded == "False"
