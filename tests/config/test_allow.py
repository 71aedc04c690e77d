"""``keyguard allow``: writes the config, keeps its comments, and the finding goes quiet."""
from __future__ import annotations

import tomllib

import yaml

from ..helpers import key, keyguard, scan_json, write


def _project(tmp_path):
    write(tmp_path / "a.py", f'GEMINI_API_KEY = "{key("google-api-key", 1)}"\n')
    write(tmp_path / "b.py", f'OPENAI_API_KEY = "{key("openai-project-key", 2)}"\n')
    rc, findings = scan_json(tmp_path)
    assert rc == 1 and len(findings) == 2
    return {f["path"]: f["fingerprint"] for f in findings}


def test_allow_round_trip_creates_yaml_config(tmp_path):
    fps = _project(tmp_path)
    r = keyguard("allow", fps["a.py"], "--reason", "revoked test key", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = yaml.safe_load((tmp_path / ".keyguard.yaml").read_text())
    assert data == {"allow": [{"fingerprint": fps["a.py"], "reason": "revoked test key"}]}
    rc, findings = scan_json(tmp_path)
    assert [f["path"] for f in findings] == ["b.py"]
    # the same key anywhere else is allowed too: the fingerprint is rule + secret
    write(tmp_path / "c.py", (tmp_path / "a.py").read_text())
    assert [f["path"] for f in scan_json(tmp_path)[1]] == ["b.py"]


def test_allow_keeps_comments_and_other_keys(tmp_path):
    fps = _project(tmp_path)
    write(tmp_path / ".keyguard.yaml",
          "# team settings\nallow:\n  - fingerprint: '" + "0" * 32 + "'\n    reason: old\n\n"
          "# fail only on serious keys\nfail-on: low\n")
    r = keyguard("allow", fps["b.py"].upper(), "--reason", 'a "quoted": reason', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / ".keyguard.yaml").read_text()
    assert "# team settings" in text and "# fail only on serious keys" in text
    data = yaml.safe_load(text)
    assert data["fail-on"] == "low"
    assert data["allow"] == [
        {"fingerprint": "0" * 32, "reason": "old"},
        {"fingerprint": fps["b.py"], "reason": 'a "quoted": reason'},
    ]
    again = keyguard("allow", fps["b.py"], "--reason", "twice", cwd=tmp_path)
    assert again.returncode == 0 and "already allowed" in again.stderr
    assert (tmp_path / ".keyguard.yaml").read_text() == text
    assert [f["path"] for f in scan_json(tmp_path)[1]] == ["a.py"]


def test_allow_writes_pyproject_when_that_is_the_config(tmp_path):
    fps = _project(tmp_path)
    write(tmp_path / "pyproject.toml", '[project]\nname = "demo"\n\n[tool.keyguard]\nfail-on = "low"\n')
    for path, fp in fps.items():
        r = keyguard("allow", fp, "--reason", f"fixture in {path}", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    assert not (tmp_path / ".keyguard.yaml").exists()
    doc = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    assert doc["project"]["name"] == "demo"
    assert doc["tool"]["keyguard"]["allow"] == [
        {"fingerprint": fps["a.py"], "reason": "fixture in a.py"},
        {"fingerprint": fps["b.py"], "reason": "fixture in b.py"},
    ]
    assert scan_json(tmp_path) == (0, [])


def test_allow_refuses_bad_input(tmp_path):
    r = keyguard("allow", "not-a-fingerprint", "--reason", "x", cwd=tmp_path)
    assert r.returncode == 2 and "not a fingerprint" in r.stderr
    r = keyguard("allow", "a" * 32, "--reason", "  ", cwd=tmp_path)
    assert r.returncode == 2 and "--reason" in r.stderr
    r = keyguard("allow", "a" * 32, cwd=tmp_path)
    assert r.returncode == 2
    assert not (tmp_path / ".keyguard.yaml").exists()
    write(tmp_path / ".keyguard.yaml", "allow: []\n")
    r = keyguard("allow", "a" * 32, "--reason", "x", cwd=tmp_path)
    assert r.returncode == 2 and ".keyguard.yaml: allow: written in flow style" in r.stderr
    assert (tmp_path / ".keyguard.yaml").read_text() == "allow: []\n"
