"""Baselines: old findings stay quiet, new ones get through, moving code changes nothing."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ..helpers import key, keyguard, scan_json, write

BASELINE = ".keyguard-baseline.json"


@pytest.fixture
def project(tmp_path):
    g, o = key("google-api-key", 1), key("openai-project-key", 2)
    write(tmp_path / "app.py", f'import os\n\nGEMINI_API_KEY = "{g}"\n')
    write(tmp_path / "conf" / "settings.py", f'OPENAI_API_KEY = "{o}"\n')
    return tmp_path


def test_baseline_keeps_old_findings_quiet_and_lets_a_new_one_through(project):
    r = keyguard("baseline", "create", cwd=project)
    assert r.returncode == 0, r.stderr
    assert "2 baseline entries" in r.stderr
    assert scan_json(project, "--baseline", BASELINE) == (0, [])

    new_key = key("google-api-key", 3)
    write(project / "new.py", f'MAPS_KEY = "{new_key}"\n')
    rc, findings = scan_json(project, "--baseline", BASELINE)
    assert rc == 1
    assert [(f["path"], f["rule_id"]) for f in findings] == [("new.py", "google-api-key")]

    # the same old key pasted into another file is a new finding there
    old_google = (project / "app.py").read_text().split('"')[1]
    write(project / "copy.py", f'KEY = "{old_google}"\n')
    rc, findings = scan_json(project, "--baseline", BASELINE)
    assert sorted(f["path"] for f in findings) == ["copy.py", "new.py"]


def test_baseline_file_has_no_plaintext_no_lines_and_is_sorted(project):
    assert keyguard("baseline", "create", cwd=project).returncode == 0
    text = (project / BASELINE).read_text()
    for path in ("app.py", "conf/settings.py"):
        secret = (project / path).read_text().split('"')[1]
        assert secret not in text
        assert secret[-4:] not in text
    doc = json.loads(text)
    assert doc["version"] == 1
    assert [sorted(e) for e in doc["entries"]] == [["path", "rule_id", "secret_sha256"]] * 2
    assert doc["entries"] == sorted(doc["entries"], key=lambda e: (e["path"], e["rule_id"]))
    assert sorted(doc) == ["entries", "version"]  # no line numbers, no timestamps


def test_moving_code_does_not_change_the_baseline(project):
    assert keyguard("baseline", "create", cwd=project).returncode == 0
    before = (project / BASELINE).read_bytes()
    app = project / "app.py"
    app.write_text("# a long new header\n" * 40 + app.read_text().replace("import os\n", "import os\nimport sys\n"))
    settings = project / "conf" / "settings.py"
    settings.write_text("def f():\n    pass\n\n\n" + settings.read_text())
    r = keyguard("baseline", "update", cwd=project)
    assert r.returncode == 0, r.stderr
    assert "0 added, 0 removed" in r.stderr
    assert (project / BASELINE).read_bytes() == before
    assert scan_json(project, "--baseline", BASELINE) == (0, [])


def test_update_adds_new_and_drops_fixed_entries(project):
    assert keyguard("baseline", "create", cwd=project).returncode == 0
    (project / "conf" / "settings.py").write_text("OPENAI_API_KEY = os.environ['OPENAI_API_KEY']\n")
    write(project / "new.py", f'K = "{key("google-api-key", 9)}"\n')
    r = keyguard("baseline", "update", cwd=project)
    assert "1 added, 1 removed" in r.stderr, r.stderr
    paths = [e["path"] for e in json.loads((project / BASELINE).read_text())["entries"]]
    assert paths == ["app.py", "new.py"]


def test_update_keeps_entries_of_files_it_did_not_scan(project):
    assert keyguard("baseline", "create", cwd=project).returncode == 0
    r = keyguard("baseline", "update", "app.py", cwd=project)
    assert r.returncode == 0 and "0 removed" in r.stderr, r.stderr
    paths = [e["path"] for e in json.loads((project / BASELINE).read_text())["entries"]]
    assert paths == ["app.py", "conf/settings.py"]


def test_create_refuses_to_overwrite_and_update_needs_a_file(project):
    assert keyguard("baseline", "update", cwd=project).returncode == 2
    assert keyguard("baseline", "create", cwd=project).returncode == 0
    r = keyguard("baseline", "create", cwd=project)
    assert r.returncode == 2 and "already exists" in r.stderr


def test_default_baseline_at_the_root_is_used_unless_no_config(project):
    assert keyguard("baseline", "create", cwd=project).returncode == 0
    assert scan_json(project)[0] == 0
    assert scan_json(project, "--no-config")[0] == 1


def test_baseline_lives_in_the_scanned_root_by_default(project):
    outside = project.parent
    r = keyguard("baseline", "create", project.name, cwd=outside)
    assert r.returncode == 0, r.stderr
    assert (project / BASELINE).is_file() and not (outside / BASELINE).exists()
    r = keyguard("scan", project.name, cwd=outside)
    assert r.returncode == 0, r.stdout


def test_broken_baseline_is_a_clear_error(project):
    write(project / "b.json", '{"entries": [{"path": "x"}], "version": 1}')
    r = keyguard("scan", ".", "--baseline", "b.json", cwd=project)
    assert r.returncode == 2
    assert "b.json: entries[0]" in r.stderr and "Traceback" not in r.stderr
    write(project / "b.json", "{not json")
    r = keyguard("scan", ".", "--baseline", "b.json", cwd=project)
    assert r.returncode == 2 and "b.json: not valid JSON" in r.stderr


# -- detect-secrets -------------------------------------------------------------------------------

def _detect_secrets_scan(cwd) -> dict:
    """A real .secrets.baseline, written by detect-secrets' own CLI."""
    r = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "--all-files"],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["results"], "detect-secrets found nothing to triage"
    return doc


@pytest.fixture
def triaged(tmp_path):
    """Two keys triaged in a detect-secrets baseline, then a third key added after it."""
    g, o = key("google-api-key", 4), key("openai-project-key", 5)
    write(tmp_path / "app.py", f'api_key = "{g}"\n')
    write(tmp_path / "ai.py", f'openai_key = "{o}"\n')
    doc = _detect_secrets_scan(tmp_path)
    write(tmp_path / ".secrets.baseline", json.dumps(doc, indent=2))
    write(tmp_path / "later.py", f'api_key = "{key("google-api-key", 6)}"\n')
    return tmp_path


def test_existing_secrets_baseline_is_honoured(triaged):
    rc, findings = scan_json(triaged)
    assert rc == 1
    assert [f["path"] for f in findings] == ["later.py"]


def test_imported_detect_secrets_baseline_silences_exactly_its_secrets(triaged):
    r = keyguard("baseline", "import", ".secrets.baseline", cwd=triaged)
    assert r.returncode == 0, r.stderr
    assert "2 of" in r.stderr
    entries = json.loads((triaged / BASELINE).read_text())["entries"]
    assert sorted((e["path"], e["rule_id"]) for e in entries) == [
        ("ai.py", "openai-project-key"), ("app.py", "google-api-key"),
    ]
    (triaged / ".secrets.baseline").unlink()
    rc, findings = scan_json(triaged, "--baseline", BASELINE)
    assert [f["path"] for f in findings] == ["later.py"]
    assert scan_json(triaged, "--no-config")[1].__len__() == 3


def test_secrets_audited_as_real_stay_reported(triaged):
    doc = json.loads((triaged / ".secrets.baseline").read_text())
    for item in doc["results"]["app.py"]:
        item["is_secret"] = True  # what `detect-secrets audit` writes for a real secret
    write(triaged / ".secrets.baseline", json.dumps(doc))
    rc, findings = scan_json(triaged)
    assert sorted(f["path"] for f in findings) == ["app.py", "later.py"]
