"""A Google auth key (AQ.) in a browser bundle is critical whatever its restrictions."""
from __future__ import annotations

from pathlib import Path

import pytest

from keyguard.findings.exposure import is_browser_artifact

from ..helpers import key, scan_json, write

AUTH = key("google-auth-key", 21)
STANDARD = key("google-api-key", 22)


@pytest.mark.parametrize("rel", ["dist/assets/index-4f2a.js", "build/static/js/main.min.js", "public/app.js.map",
                                 "out/index.html"])
def test_auth_key_in_a_built_bundle_is_critical_and_says_why(tmp_path: Path, rel: str) -> None:
    write(tmp_path / rel, f'const k="{AUTH}";const m="{STANDARD}";\n')
    _, findings = scan_json(tmp_path, ".", "--no-config")
    by_rule = {f["rule_id"]: f for f in findings}
    assert by_rule["google-auth-key"]["severity"] == "critical"
    assert any("service account" in r for r in by_rule["google-auth-key"]["reasons"])
    assert any(r.startswith("inlined into a") for r in by_rule["google-auth-key"]["reasons"])
    # a standard key inlined into a browser build is raised as its VITE_/NEXT_PUBLIC_ line would be,
    # for the bundle, not for a service account
    assert by_rule["google-api-key"]["severity"] == "critical"
    assert not any("service account" in r for r in by_rule["google-api-key"]["reasons"])


def test_auth_key_in_server_code_keeps_its_rules_severity(tmp_path: Path) -> None:
    write(tmp_path / "server" / "gemini.py", f'API_KEY = "{AUTH}"\n')
    _, findings = scan_json(tmp_path, ".", "--no-config")
    assert [(f["rule_id"], f["severity"]) for f in findings] == [("google-auth-key", "high")]


def test_auth_key_in_a_browser_exposed_env_variable_is_critical(tmp_path: Path) -> None:
    write(tmp_path / ".env.production", f"VITE_GEMINI_API_KEY={AUTH}\n")
    _, findings = scan_json(tmp_path, ".", "--no-config")
    assert findings[0]["severity"] == "critical"
    assert any("service account" in r for r in findings[0]["reasons"])
    # where the key is stays said: a .env line is no browser bundle
    assert any("client-exposed VITE_ variable" in r for r in findings[0]["reasons"]), findings[0]["reasons"]
    assert not any("browser bundle" in r for r in findings[0]["reasons"])


def test_what_counts_as_a_browser_artifact() -> None:
    assert is_browser_artifact("https://example.com/assets/app.js")
    assert is_browser_artifact("src/app.ts", {"source_map": "inline"})
    assert is_browser_artifact("vendor/lib.min.js")
    assert not is_browser_artifact("src/app.js")
    assert not is_browser_artifact("dist/notes.txt")


def test_auth_key_in_a_source_map_and_in_git_history(tmp_path: Path) -> None:
    import json
    import subprocess

    src = f'export const gemini = "{AUTH}";\n'
    write(tmp_path / "site" / "app.js.map", json.dumps(
        {"version": 3, "sources": ["src/gemini.ts"], "sourcesContent": [src], "mappings": "AAAA"}))
    _, findings = scan_json(tmp_path / "site", ".", "--no-config")
    [f] = findings
    assert (f["rule_id"], f["severity"]) == ("google-auth-key", "critical")
    assert f["origin"]["original"]["source"] == "src/gemini.ts"

    repo = tmp_path / "repo"
    write(repo / "config.py", f'GEMINI_API_KEY = "{AUTH}"\n')
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "add"], check=True)
    write(repo / "config.py", 'GEMINI_API_KEY = os.environ["GEMINI_API_KEY"]\n')
    subprocess.run([*git, "commit", "-qam", "remove"], check=True)
    _, findings = scan_json(repo, "--history", ".", "--no-config")
    assert [f["rule_id"] for f in findings] == ["google-auth-key"]
