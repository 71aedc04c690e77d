"""The config file: validation with clear errors, skip paths, fail-on, overrides from flags."""
from __future__ import annotations

import pytest

from keyguard.config.file import ConfigError, parse_config

from ..helpers import key, keyguard, scan_json, write


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "src" / "app.py", f'GEMINI_API_KEY = "{key("google-api-key", 1)}"\n')
    write(tmp_path / "tests" / "fixtures" / "env.txt", f'OPENAI_API_KEY={key("openai-project-key", 2)}\n')
    write(tmp_path / "tests" / "fixtures" / "keep.txt", f'GOOGLE={key("google-api-key", 3)}\n')
    return tmp_path


def _paths(findings):
    return sorted(f["path"] for f in findings)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("fail_on: high\n", "fail_on: unknown key (did you mean 'fail-on'?)"),
        ("fail-on: severe\n", "fail-on: must be one of low, medium, high, critical"),
        ("skip: tests/\nrules: [a]\n", "rules: must be a mapping"),
        ("rules:\n  disable: [1]\n", "rules.disable: must be a list of non-empty strings"),
        ("rules:\n  turn_off: [x]\n", "rules.turn_off: unknown key"),
        ("rules:\n  extra: [../elsewhere.yml]\n", "rules.extra[0]: must be a path inside"),
        ("rules:\n  extra: [/etc/rules.yml]\n", "rules.extra[0]: must be a path inside"),
        ("skip: ['[abc']\n", "skip[0]: pattern '[abc' has an unclosed '['"),
        ("allow:\n  - fingerprint: abc\n    reason: x\n", "allow[0].fingerprint: must be a finding's fingerprint"),
        ("allow:\n  - fingerprint: " + "a" * 32 + "\n", "allow[0].reason: say why"),
        ("allow:\n  - {fingerprint: " + "a" * 32 + ", reason: x, until: 2030}\n", "allow[0].until: unknown key"),
        ("- just\n- a list\n", "the file must be a mapping"),
        ("fail-on: [high\n", "not valid YAML (line 2)"),
        ("rules:\n  disable: [no-such-rule]\n", "rules.disable: unknown rule, provider or pack 'no-such-rule'"),
        ("rules:\n  enable: [everything]\n", "rules.enable: unknown rule, provider or pack 'everything'"),
    ],
)
def test_yaml_config_errors_name_file_and_key(project, text, expected):
    write(project / ".keyguard.yaml", text)
    r = keyguard("scan", ".", cwd=project)
    assert r.returncode == 2, r.stdout
    assert "Traceback" not in r.stderr
    assert ".keyguard.yaml: " + expected in r.stderr, r.stderr


@pytest.mark.parametrize(
    "text,expected",
    [
        ('[tool.keyguard]\nfail-on = "severe"\n', "pyproject.toml: tool.keyguard.fail-on: must be one of"),
        ('[[tool.keyguard.allow]]\nfingerprint = "x"\nreason = "r"\n',
         "pyproject.toml: tool.keyguard.allow[0].fingerprint"),
        ('[tool.keyguard]\nfail-on = "high"\nfail-on = "low"\n', "pyproject.toml: not valid TOML"),
    ],
)
def test_pyproject_config_errors_name_file_and_key(project, text, expected):
    write(project / "pyproject.toml", '[project]\nname = "x"\n\n' + text)
    r = keyguard("scan", ".", cwd=project)
    assert r.returncode == 2
    assert expected in r.stderr, r.stderr


@pytest.mark.parametrize("key_name", ["verify", "verification", "verify-endpoints", "base-url", "proxy"])
def test_config_can_never_configure_verification(project, key_name):
    write(project / ".keyguard.yaml", f"{key_name}: true\n")
    r = keyguard("scan", ".", cwd=project)
    assert r.returncode == 2
    assert f".keyguard.yaml: {key_name}: verification cannot be configured in a config file" in r.stderr


def test_config_has_no_verification_keys_at_any_level():
    for data in ({"rules": {"verify": True}}, {"allow": [{"fingerprint": "a" * 32, "reason": "r", "verify": 1}]}):
        with pytest.raises(ConfigError, match="verification cannot be configured"):
            parse_config(data, "x.yaml")


def test_pyproject_and_yaml_both_present_is_an_error(project):
    write(project / ".keyguard.yaml", "fail-on: high\n")
    write(project / "pyproject.toml", '[tool.keyguard]\nfail-on = "low"\n')
    r = keyguard("scan", ".", cwd=project)
    assert r.returncode == 2 and "both .keyguard.yaml and pyproject.toml configure keyguard" in r.stderr


def test_pyproject_without_keyguard_table_is_ignored(project):
    write(project / "pyproject.toml", '[project]\nname = "x"\n')
    assert len(scan_json(project)[1]) == 3


def test_skip_paths_from_config_in_gitignore_syntax(project):
    write(project / ".keyguard.yaml", "skip:\n  - tests/fixtures/*\n  - '!keep.txt'\n")
    rc, findings = scan_json(project)
    assert _paths(findings) == ["src/app.py", "tests/fixtures/keep.txt"]
    r = keyguard("scan", ".", "--format", "json", cwd=project)
    assert '"skipped-path": 1' in r.stdout


def test_skip_paths_from_pyproject(project):
    write(project / "pyproject.toml", '[tool.keyguard]\nskip = ["fixtures/"]\n')
    assert _paths(scan_json(project)[1]) == ["src/app.py"]


def test_fail_on_decides_the_exit_code(project):
    generic = "q8Z2vLx9Tm4Kd7Rp1Wf6Hs3Nb0Yc5Gj8Ue2Ai"[::-1]  # low severity; keyguard:allow
    solo = project / "solo"
    write(solo / "pay.py", f'PAYMENTS_API_KEY = "{generic}"\n')
    rc, findings = scan_json(solo)
    assert rc == 1 and [f["severity"] for f in findings] == ["low"]
    write(solo / ".keyguard.yaml", "fail-on: medium\n")
    rc, findings = scan_json(solo)
    assert rc == 0 and len(findings) == 1  # still reported, just not failing
    assert scan_json(solo, "--fail-on", "low")[0] == 1  # the flag overrides the config


def test_cli_flags_override_config(project):
    write(project / ".keyguard.yaml", "rules:\n  disable: [google, generic]\nfail-on: critical\n")
    rc, findings = scan_json(project)
    assert rc == 0 and _paths(findings) == ["tests/fixtures/env.txt"]
    rc, findings = scan_json(project, "--enable", "google", "--fail-on", "high")
    assert rc == 1 and len(findings) == 3
    rc, findings = scan_json(project, "--disable", "openai", "--skip", "tests/")
    assert rc == 0 and findings == []


def test_explicit_config_file_and_no_config(project, tmp_path_factory):
    other = tmp_path_factory.mktemp("cfg") / "team.yaml"
    write(other, "rules:\n  disable: [openai]\n")
    write(project / ".keyguard.yaml", "skip: ['*']\n")
    assert scan_json(project)[1] == []
    assert _paths(scan_json(project, "--config", str(other))[1]) == [
        "src/app.py", "tests/fixtures/keep.txt",
    ]
    assert len(scan_json(project, "--no-config")[1]) == 3
    r = keyguard("scan", ".", "--config", "missing.yaml", cwd=project)
    assert r.returncode == 2 and "--config: missing.yaml: no such file" in r.stderr


def test_extra_rules_from_config(project):
    write(project / ".keyguard" / "rules.yml", ACME_RULES)
    write(project / "src" / "acme.py", 'ACME = "acme_' + "Zq4v8Lr2Tx7Kp1Wm6Hs3Nb9Y" + '"\n')  # keyguard:allow
    write(project / ".keyguard.yaml", "rules:\n  extra: [.keyguard/rules.yml]\n")
    rc, findings = scan_json(project)
    assert "acme-token" in {f["rule_id"] for f in findings}


def test_config_is_read_from_the_scanned_directory(project, tmp_path_factory):
    write(project / ".keyguard.yaml", "skip: ['*']\n")
    elsewhere = tmp_path_factory.mktemp("cwd")
    r = keyguard("scan", str(project), "--format", "json", cwd=elsewhere)
    assert r.returncode == 0 and '"skipped-path": 3' in r.stdout


ACME_RULES = """\
provider: acme
rules:
  - id: acme-token
    name: ACME token
    description: An ACME API token.
    regex: 'acme_[A-Za-z0-9]{24}'
    keywords: [acme_]
    severity: medium
    remediation: Revoke it in the ACME console.
    examples:
      positive: ['x = "acme_Zq4v8Lr2Tx7Kp1Wm6Hs3Nb9Y"']  # keyguard:allow
      negative: ['x = "acme_xxxxxxxxxxxxxxxxxxxxxxxx"']
"""
