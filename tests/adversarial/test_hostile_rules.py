"""Hostile rules: a user's rules file whose regexes backtrack catastrophically.

Two defences, both tested: a regex that can backtrack exponentially (nested or alternated
repeats, back-references, look-around) is refused when loaded, with a one-line error naming
the file and the rule; a regex that slips past that check (polynomial blow-ups such as
``\\w*\\w*\\w*!``) runs under a time budget per text and per scan, and the scan finishes with a
message naming the rule. Each scan runs in a subprocess with a timeout: a hang fails the test.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import keyguard.detect.engine as engine_mod
from keyguard.detect.engine import Engine
from keyguard.model import ScanText, Stats
from keyguard.ruleset.load import build_rule, load_rules

from ..helpers import key, write
from ..sources.test_git import sha256

HANG_GUARD = 90  # seconds: far above the 5 s budget, far below "hangs"


def rules_file(path: Path, rule_id: str, regex: str, keyword: str) -> Path:
    return write(path, (
        "provider: acme\nrules:\n"
        f"  - id: {rule_id}\n    name: Acme token\n    regex: {json.dumps(regex)}\n"
        f"    keywords: [{json.dumps(keyword)}]\n    severity: high\n"
    ))


def run_scan(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "keyguard", "scan", *args], cwd=cwd, capture_output=True,
                       text=True, timeout=HANG_GUARD)
    assert "Traceback" not in p.stderr, p.stderr
    return p


@pytest.mark.parametrize("regex, problem", [
    (r"acme_(a+)+$", "nested quantifier"),
    (r"acme_(a|aa)*b", "alternation inside a repeated group"),
    (r"acme_(\w+\s?)*$", "nested quantifier"),
    (r"acme_(?:a*)*b", "nested quantifier"),
    (r"acme_(x+x+)+y", "nested quantifier"),
    (r"acme_([a-z]+)\1", "back-reference"),
    (r"acme_(?=a+)a+b", "look-around"),
])
def test_exponential_regex_is_refused_when_loaded(tmp_path: Path, regex: str, problem: str) -> None:
    rules = rules_file(tmp_path / "mine.yml", "acme-evil", regex, "acme_")
    write(tmp_path / "t" / "a.txt", "acme_" + "a" * 5000 + "\n")
    p = run_scan(tmp_path, "t", "--rules", str(rules))
    assert p.returncode == 2 and p.stdout == ""
    (line,) = p.stderr.strip().splitlines()
    assert str(rules) in line and "'acme-evil'" in line and problem in line and "linear-time" in line


def test_polynomial_regex_is_stopped_by_the_budget_and_the_scan_goes_on(tmp_path: Path) -> None:
    """``\\w*\\w*\\w*\\w*!`` is refused by no static check (no nesting) and costs minutes on one
    long line; the rule is disabled after its budget, the other files and built-in rules still
    run, and the message names the rule and its file."""
    rules = rules_file(tmp_path / "mine.yml", "acme-poly", r"acme_\w*\w*\w*\w*!", "acme_")
    k = key("google-api-key", 800)
    write(tmp_path / "t" / "a.txt", "acme_" + "a" * 3000 + "\n")
    write(tmp_path / "t" / "app.py", f'GEMINI_API_KEY = "{k}"\n')
    write(tmp_path / "t" / "c.txt", "acme_token!\n")  # the rule still matches where it is cheap
    p = run_scan(tmp_path, "t", "--rules", str(rules), "--format", "json")
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert {f["secret_sha256"] for f in doc["findings"]} >= {sha256(k)}
    (err,) = doc["errors"]
    assert "'acme-poly'" in err and str(rules) in err and "budget" in err and "disabled" in err


def slow_rule(regex: str) -> object:
    return build_rule({"id": "acme-slow", "provider": "acme", "name": "t", "regex": regex,
                       "keywords": ["acme_"], "severity": "high"}, "test", "/home/u/mine.yml")


def test_a_rule_just_under_the_per_text_budget_is_stopped_by_the_scan_budget(monkeypatch) -> None:
    """A regex that costs a little under the per-text budget on each of many texts would
    otherwise add that cost once per file: its time over the whole scan is bounded too."""
    monkeypatch.setattr(engine_mod, "REGEX_BUDGET_SECONDS", 60.0)
    monkeypatch.setattr(engine_mod, "USER_RULE_BUDGET_SECONDS", 0.5)
    builtin = load_rules()
    eng = Engine(builtin + [slow_rule(r"acme_[a-z]+[a-z]+[a-z]+!")])
    k = key("google-api-key", 801)
    found = []
    for i in range(200):
        stats = Stats()
        found += eng.scan(ScanText(f"acme_{'a' * 700}\nGEMINI_API_KEY = \"{k}\"\n", f"f{i}"), stats)
        if "acme-slow" in eng.disabled:
            break
    assert "acme-slow" in eng.disabled, "200 slow texts and the rule was never stopped"
    (err,) = eng.errors
    assert "whole scan" in err and "/home/u/mine.yml" in err
    assert {f.path for f in found} == {f"f{j}" for j in range(i + 1)}  # the built-in rule kept going
    # after that the rule costs nothing, and the built-in rules still find keys
    assert [f.secret for f in eng.scan(ScanText(f"acme_{'a' * 700}\nk=\"{k}\"\n", "last"), Stats())] == [k]


def test_builtin_rules_have_no_scan_budget() -> None:
    """Built-in rules are vetted by the test suite; only the per-text budget applies to them."""
    eng = Engine(load_rules())
    assert eng._spent == {}
    user = slow_rule(r"acme_[a-z]{8}")
    assert Engine(load_rules() + [user])._spent == {len(load_rules()): 0.0}


def test_exponential_regex_that_slips_past_the_check_is_stopped(monkeypatch) -> None:
    """``(?:a?){n}a{n}`` has no nested variable repeat, yet backtracks 2^n ways."""
    monkeypatch.setattr(engine_mod, "REGEX_BUDGET_SECONDS", 0.3)
    eng = Engine([slow_rule(r"acme_(?:a?){40}a{40}!")])
    assert eng.scan(ScanText("acme_" + "a" * 80, "t"), Stats()) == []
    assert "acme-slow" in eng.disabled and "one text" in eng.errors[0]


@pytest.mark.parametrize("via", ["--rules", "config"])
def test_a_rules_file_nested_deep_enough_to_crash_libyaml_is_one_line(tmp_path, via):
    """libyaml recurses in C: a user's (or a scanned repository's) rules file of "[[[[…" killed
    the process with SIGSEGV. Only keyguard's own rules are read with it."""
    repo = tmp_path / "repo"
    write(repo / "rules.yml", "[" * 200_000 + "]" * 200_000)
    write(repo / "app.env", f"GEMINI_API_KEY={key('google-api-key', 860)}\n")
    args = ["--rules", str(repo / "rules.yml")]
    if via == "config":
        write(repo / ".keyguard.yaml", "rules:\n  extra: [rules.yml]\n")
        args = []
    r = subprocess.run([sys.executable, "-m", "keyguard", "scan", str(repo), *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, (r.returncode, r.stderr[-300:])
    assert r.stderr.strip() == f"Error: {repo / 'rules.yml'}: not valid YAML: nested too deeply"
