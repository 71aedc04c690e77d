"""The opt-in ``generic`` pack built on detect-secrets' keyword and high-entropy detectors."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ..helpers import key, keyguard, scan_json, write

# made up at run time from a fixed seed; nothing key-shaped is in the source
PASSWORD = "".join(chr(ord("a") + (i * 7) % 26) if i % 3 else str(i % 10) for i in range(18))
HEX = "".join("0123456789abcdef"[(i * 11 + 5) % 16] for i in range(40))


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "db.py", f'password = "{PASSWORD}"\n')
    write(tmp_path / "hash.py", f'checksum = "{HEX}"\n')
    write(tmp_path / "app.py", f'GEMINI_API_KEY = "{key("google-api-key", 1)}"\n')
    write(tmp_path / "ok.py", f'password = "{PASSWORD}"  # pragma: allowlist secret\n')
    return tmp_path


def test_pack_is_off_by_default_and_not_imported(project):
    rc, findings = scan_json(project)
    assert [f["rule_id"] for f in findings] == ["google-api-key"]
    code = (
        "import sys, runpy; sys.argv = ['keyguard', 'scan', '.'];\n"
        "try:\n    runpy.run_module('keyguard', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('DS-LOADED' if any(m.startswith('detect_secrets') for m in sys.modules) else 'DS-NOT-LOADED')"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True)
    assert r.stdout.strip().endswith("DS-NOT-LOADED"), r.stdout + r.stderr


def test_enabled_pack_reports_lower_confidence_findings(project):
    rc, findings = scan_json(project, "--enable", "generic")
    assert rc == 1
    by_path = {f["path"]: f for f in findings}
    assert set(by_path) == {"app.py", "db.py", "hash.py"}  # ok.py carries an allow marker
    assert by_path["app.py"]["rule_id"] == "google-api-key"  # the provider rule wins
    assert by_path["db.py"]["rule_id"] == "generic-keyword"
    assert by_path["hash.py"]["rule_id"] == "generic-hex-high-entropy"
    for path in ("db.py", "hash.py"):
        assert by_path[path]["confidence"] == "low" and by_path[path]["severity"] == "low"
    assert by_path["db.py"]["column"] == len('password = "') + 1
    assert by_path["db.py"]["end_column"] - by_path["db.py"]["column"] == len(PASSWORD)
    text = keyguard("scan", ".", "--enable", "generic", cwd=project).stdout
    assert "(lower confidence)" in text and PASSWORD not in text


def test_pack_from_config_and_fail_on(project):
    (project / "app.py").unlink()
    write(project / ".keyguard.yaml", "rules:\n  enable: [generic]\nfail-on: medium\n")
    rc, findings = scan_json(project)
    assert rc == 0 and {f["rule_id"] for f in findings} == {"generic-keyword", "generic-hex-high-entropy"}
    rc, findings = scan_json(project, "--disable", "generic-hex-high-entropy")
    assert {f["rule_id"] for f in findings} == {"generic-keyword"}


def test_pack_does_not_flag_baseline_hashes(project):
    assert keyguard("baseline", "create", "--enable", "generic", cwd=project).returncode == 0
    r = subprocess.run([sys.executable, "-m", "detect_secrets", "scan", "--all-files"],
                       cwd=project, capture_output=True, text=True, timeout=120)
    write(project / ".secrets.baseline", r.stdout)
    rc, findings = scan_json(project, "--enable", "generic", "--no-config")
    paths = {f["path"] for f in findings}
    assert ".keyguard-baseline.json" not in paths and ".secrets.baseline" not in paths
    assert json.loads(r.stdout)["results"]  # the detect-secrets file really had hashes in it
