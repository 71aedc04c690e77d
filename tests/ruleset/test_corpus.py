"""The factory-built corpus (tests/corpus.py): every planted key is found by its own rule, at its
own line, and none of the look-alikes is reported. One real ``keyguard scan`` over the corpus."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from keyguard.ruleset.load import load_rules

from ..corpus import FORMATS, SERVICE_ACCOUNT_RULE, build_corpus

RULES = load_rules()
PROVIDER_RULES = [r for r in RULES if r.provider != "generic"]


@pytest.fixture(scope="module")
def corpus_scan(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    corpus = build_corpus(root, RULES, seed=7)
    p = subprocess.run(
        [sys.executable, "-m", "keyguard", "scan", str(root), "--format", "json", "--no-config"],
        capture_output=True, text=True, timeout=300,
    )
    assert p.returncode == 1, p.stderr
    return corpus, json.loads(p.stdout)["findings"]


def test_corpus_plants_every_rule_in_every_format(corpus_scan):
    corpus, _ = corpus_scan
    formats = {(p.rule_id, p.fmt) for p in corpus.planted}
    for rule in PROVIDER_RULES:
        wanted = {"json", "env"} if rule.id == SERVICE_ACCOUNT_RULE else set(FORMATS)
        assert {f for r, f in formats if r == rule.id} == wanted, rule.id
    assert len({p.secret for p in corpus.planted}) == len(corpus.planted), "a key was planted twice"


def test_every_planted_key_is_found_by_its_rule_at_its_line(corpus_scan):
    corpus, findings = corpus_scan
    found = {(f["path"], f["line"], f["rule_id"], f["secret_sha256"]) for f in findings}
    missed = [(p.path, p.line, p.rule_id) for p in corpus.planted
              if (p.path, p.line, p.rule_id, p.sha256) not in found]
    assert missed == []
    by_rule = {r.id: r for r in RULES}
    for f in findings:
        assert f["provider"] == by_rule[f["rule_id"]].provider
        assert f["severity"] == by_rule[f["rule_id"]].severity


def test_no_lookalike_and_nothing_unplanted_is_reported(corpus_scan):
    corpus, findings = corpus_scan
    planted = {(p.path, p.line, p.rule_id, p.sha256) for p in corpus.planted}
    extra = [(f["path"], f["line"], f["rule_id"]) for f in findings
             if (f["path"], f["line"], f["rule_id"], f["secret_sha256"]) not in planted]
    assert extra == []
    lookalike_lines = {(la.path, la.line) for la in corpus.lookalikes}
    assert not [f for f in findings if (f["path"], f["line"]) in lookalike_lines]


def test_lookalikes_are_key_shaped_so_the_filters_did_the_work(corpus_scan):
    """Filler, longer-token and no-context look-alikes match the rule's regex: only the
    placeholder filters, the token boundaries or the missing context word keep them out."""
    corpus, _ = corpus_scan
    by_rule = {r.id: r for r in RULES}
    kinds = Counter(la.kind for la in corpus.lookalikes)
    for kind in ("xxx-filled", "sequential", "template", "your-key", "truncated", "redacted",
                 "in-longer-token", "no-context"):
        assert kinds[kind] > 0, kind
    for la in corpus.lookalikes:
        if la.kind in ("xxx-filled", "sequential", "in-longer-token", "no-context"):
            assert by_rule[la.rule_id].compiled.search(la.value), (la.rule_id, la.kind)
    per_rule = Counter(la.rule_id for la in corpus.lookalikes)
    assert all(per_rule[r.id] >= 5 for r in PROVIDER_RULES if r.id != SERVICE_ACCOUNT_RULE)
