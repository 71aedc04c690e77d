"""The one orchestrator: every source goes through the same transforms and filters."""
from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

from ..helpers import scan_report

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}


def _bundle_with_inline_map(key: str) -> str:
    source = f'export const openaiKey = "{key}";\n'
    mapping = {"version": 3, "sources": ["../src/server.ts"], "sourcesContent": [source], "mappings": "AAAA"}
    payload = base64.b64encode(json.dumps(mapping).encode()).decode()
    return f"var a=1;\n//# sourceMappingURL=data:application/json;base64,{payload}\n"


def test_a_key_in_an_inline_source_map_is_one_finding(tmp_path: Path, make_key) -> None:
    key = make_key("openai-project-key")
    (tmp_path / "app.js").write_text(_bundle_with_inline_map(key))
    code, doc = scan_report(str(tmp_path))
    assert code == 1
    hits = [f for f in doc["findings"] if f["rule_id"] == "openai-project-key"]
    assert len(hits) == 1, hits  # not once through the map and again through base64 decoding
    assert hits[0]["origin"]["source_map"] == "inline"
    assert hits[0]["origin"]["original"]["source"] == "../src/server.ts"


def test_history_applies_source_maps_as_a_directory_scan_does(tmp_path: Path, make_key) -> None:
    key = make_key("openai-project-key")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.js").write_text(_bundle_with_inline_map(key))
    for args in (["init", "-q"], ["add", "app.js"], ["commit", "-qm", "build"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=GIT_ENV, capture_output=True)
    _, tree = scan_report(str(repo))
    _, history = scan_report(str(repo), "--history")

    def located(doc: dict) -> list[tuple]:
        return [(f["path"], f["line"], f["column"], f["origin"].get("source_map"),
                 (f["origin"].get("original") or {}).get("source"))
                for f in doc["findings"] if f["rule_id"] == "openai-project-key"]

    assert located(history) == located(tree) == [("app.js", 2, 3, "inline", "../src/server.ts")]
    assert history["findings"][0]["commit"]["sha"]
