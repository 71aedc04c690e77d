"""``keyguard rules list|show|test``."""
from __future__ import annotations

from ..helpers import RULES, keyguard, write

USER_RULES = """\
provider: acme
remediation: Revoke it in the ACME console.
rules:
  - id: acme-token
    name: ACME token
    description: An ACME API token.
    regex: 'acme_[A-Za-z0-9]{24}'
    keywords: [acme_]
    severity: medium
    examples:
      positive: ['token = "acme_Zq4v8Lr2Tx7Kp1Wm6Hs3Nb9Y"']  # keyguard:allow
      negative: ['token = "acme_xxxxxxxxxxxxxxxxxxxxxxxx"']
  - id: acme-legacy
    name: ACME legacy token
    description: A pattern too narrow for its own example.
    regex: 'acmeL_[a-z]{30}'
    keywords: [acmel_]
    severity: low
    examples:
      positive: ['legacy = "acmeL_Zq4v8Lr2Tx7Kp1Wm6Hs3Nb9Y"']  # keyguard:allow
      negative: ['legacy = "nothing here"']
  - id: acme-untested
    name: ACME untested
    description: No examples at all.
    regex: 'acmeU_[A-Za-z0-9]{24}'
    keywords: [acmeu_]
    severity: low
"""


def test_rules_list_shows_every_rule_and_its_state(tmp_path):
    write(tmp_path / ".keyguard.yaml", "rules:\n  enable: [generic]\n  disable: [openai-admin-key]\n")
    r = keyguard("rules", "list", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split()[1] for line in r.stdout.splitlines()}
    assert set(RULES) <= set(rows)
    assert rows["google-api-key"] == "on"
    assert rows["openai-admin-key"] == "off"
    assert rows["generic-keyword"] == "on"
    r = keyguard("rules", "list", "--no-config", cwd=tmp_path)
    rows = {line.split()[0]: line.split()[1] for line in r.stdout.splitlines()}
    assert rows["generic-keyword"] == "off" and rows["openai-admin-key"] == "on"


def test_rules_show_one_rule(tmp_path):
    r = keyguard("rules", "show", "google-api-key", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rule = RULES["google-api-key"]
    assert f"regex:       {rule.regex}" in r.stdout
    assert "severity:    high" in r.stdout
    assert rule.remediation.split()[0] in r.stdout
    assert "context:" not in r.stdout  # an AIza key needs no word nearby
    r = keyguard("rules", "show", "deepseek-api-key", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (f"context:     deepseek (needed on the key's line, the {RULES['deepseek-api-key'].context_lines} lines "
            "above or below it, or in the file's path)") in r.stdout
    r = keyguard("rules", "show", "generic-hex-high-entropy", cwd=tmp_path)
    assert r.returncode == 0 and "confidence:  low" in r.stdout and "HexHighEntropyString" in r.stdout
    r = keyguard("rules", "show", "no-such-rule", cwd=tmp_path)
    assert r.returncode == 2 and "no rule 'no-such-rule'" in r.stderr


def test_rules_show_includes_user_rules(tmp_path):
    write(tmp_path / "acme.yml", USER_RULES)
    r = keyguard("rules", "show", "acme-token", "--rules", "acme.yml", cwd=tmp_path)
    assert r.returncode == 0 and "provider:    acme" in r.stdout


def test_rules_test_reports_passing_and_failing_rules(tmp_path):
    write(tmp_path / "acme.yml", USER_RULES)
    r = keyguard("rules", "test", "acme.yml", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert "PASS  acme-token" in out
    assert "FAIL  acme-legacy" in out
    assert "NOT found" in out
    assert "FAIL  acme-untested" in out and "no positive example" in out
    assert "1 of 3 rules pass" in out
    assert "Zq4v8Lr2Tx7Kp1Wm6Hs3Nb9Y" not in out  # shown redacted; keyguard:allow


def test_rules_test_passes_for_good_rules_and_builtin_files(tmp_path):
    write(tmp_path / "acme.yml", USER_RULES.split("  - id: acme-legacy")[0])
    r = keyguard("rules", "test", "acme.yml", cwd=tmp_path)
    assert r.returncode == 0, r.stdout
    assert "1 of 1 rules pass" in r.stdout
    builtin = sorted({rule.source for rule in RULES.values()})
    r = keyguard("rules", "test", *builtin, cwd=tmp_path)
    assert r.returncode == 0, r.stdout


def test_rules_test_on_an_invalid_file_is_a_clear_error(tmp_path):
    write(tmp_path / "bad.yml", "provider: x\nrules:\n  - id: bad\n    name: Bad\n    regex: '(ab)\\1'\n"
          "    keywords: [aa]\n    severity: low\n")
    r = keyguard("rules", "test", "bad.yml", cwd=tmp_path)
    assert r.returncode == 2
    assert "bad.yml: rule 'bad': regex not allowed" in r.stderr
