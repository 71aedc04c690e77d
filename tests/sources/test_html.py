"""Keys in HTML: inline scripts, attributes, ``<script src>`` query strings, JSON islands.

Each is found at its line and column (1-based characters) in the HTML file, by a directory scan
and by a URL scan of the same page served from 127.0.0.1."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ..bundler import serve
from ..helpers import key, keyguard, write

PLACES = {
    "inline script": key("google-api-key", 61),
    "attribute": key("google-api-key", 62),
    "script src query": key("google-api-key", 63),
    "JSON island": key("openai-project-key", 64),
    "entity-encoded attribute": key("google-api-key", 65),
    "inline module script": key("openai-project-key", 66),
}


def _page() -> str:
    k = PLACES
    return (
        "<!doctype html>\n<html lang=\"fr\">\n<head>\n  <meta charset=\"utf-8\">\n  <title>Café ☕ — démo</title>\n"
        "  <script>\n"
        "    // the firebase config, pasted in by hand\n"
        f"    const firebaseConfig = {{ projectId: \"démo-app\", apiKey: \"{k['inline script']}\" }};\n"
        "  </script>\n"
        f"  <script async src=\"https://maps.googleapis.com/maps/api/js?key={k['script src query']}&callback=initMap\"></script>\n"
        "</head>\n<body>\n"
        f"  <p>Carte ☕ ici :</p><div id=\"map\" class=\"carte\" data-api-key=\"{k['attribute']}\"></div>\n"
        f"  <div id=\"cfg\" data-config=\"{{&quot;apiKey&quot;:&quot;{k['entity-encoded attribute']}&quot;}}\"></div>\n"
        "  <script type=\"module\">import { start } from \"./app.js\"; "
        f"start({{ openai: \"{k['inline module script']}\" }});</script>\n"
        "  <script id=\"__NEXT_DATA__\" type=\"application/json\">"
        "{\"props\":{\"pageProps\":{\"title\":\"Café\",\"config\":{\"openaiKey\":"
        f"\"{k['JSON island']}\"}}}},\"page\":\"/\",\"buildId\":\"x1\"}}</script>\n"
        "</body>\n</html>\n"
    )


def _where(text: str, secret: str) -> tuple[int, int]:
    """1-based line and column (characters) of ``secret`` in ``text``."""
    at = text.index(secret)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


@pytest.fixture
def page(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    write(site / "index.html", _page())
    write(site / "app.js", "export function start(config) { return config; }\n")
    return site


def _check(findings: list[dict], text: str, path: str) -> None:
    by_hash = {f["secret_sha256"]: f for f in findings}
    for place, secret in PLACES.items():
        f = by_hash.get(hashlib.sha256(secret.encode()).hexdigest())
        assert f is not None, f"not found: {place}"
        assert f["path"] == path, place
        line, column = _where(text, secret)
        assert (f["line"], f["column"]) == (line, column), place
        assert (f["end_line"], f["end_column"]) == (line, column + len(secret)), place
    assert len(findings) == len(PLACES)


def test_html_keys_by_directory_scan(page: Path, tmp_path: Path) -> None:
    r = keyguard("scan", "site", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    _check(json.loads(r.stdout)["findings"], (page / "index.html").read_text(encoding="utf-8"), "index.html")


def test_html_keys_by_url_scan(page: Path, tmp_path: Path) -> None:
    with serve(page) as (url, requests):
        r = keyguard("scan", url + "/index.html", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    report = json.loads(r.stdout)
    _check(report["findings"], (page / "index.html").read_text(encoding="utf-8"), url + "/index.html")
    assert "/app.js" in [p for p, _ in requests]  # the module script's import was followed
    # the Maps script is on another origin: skipped, listed with its key redacted
    skipped = [p for p in report["stats"]["skipped_paths"] if p["reason"] == "other origin (use --cross-origin)"]
    assert [p["path"].split("?")[0] for p in skipped] == ["https://maps.googleapis.com/maps/api/js"]
    assert "key=…" in skipped[0]["path"] and "callback=initMap" in skipped[0]["path"]
    for secret in PLACES.values():
        assert secret not in r.stdout and secret not in r.stderr
