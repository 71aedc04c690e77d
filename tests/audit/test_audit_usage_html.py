"""``--format html`` opened in a real headless Chromium (Debian's ``chromium``): the page renders,
its script reports no error, the chart holds one series per key that was used, anomalies are
marked, provider-supplied names cannot inject markup, and the file refers to nothing outside it.

Script errors are written into the page by its own ``window.onerror`` and read back from the DOM
Chromium dumps (``--dump-dom``); Chromium's console log on stderr is checked as well."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from keyguard.audit import anomalies
from keyguard.audit.html import render_html
from keyguard.audit.model import AuditKey, AuditResult
from keyguard.audit.usage import Usage, Window

DAYS = 30
EVIL = '<script>document.title="pwned"</script><img src=x onerror=alert(1)>'


def _chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if found:
        return found
    # .ci/run installs it; elsewhere, install it the same way if this user can
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run("apt-get update -qq && apt-get install -y -qq chromium", shell=True,
                       capture_output=True, timeout=1200)
        found = shutil.which("chromium")
    if not found:
        pytest.skip("chromium is not installed and cannot be installed here (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def chromium() -> str:
    return _chromium()


def _dump_dom(chromium: str, page: Path, profile: Path) -> tuple[str, str]:
    p = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr",
                        "--v=0", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout, p.stderr


def _result() -> AuditResult:
    now = datetime(2026, 12, 3, 10, 30, tzinfo=timezone.utc)
    usage = Usage("openai", Window(now, DAYS), "requests")
    result = AuditResult("openai", "organization (2 projects)", usage=usage)
    shapes = {
        "key_flat": [120.0] * DAYS,
        "key_weekly": [900.0 if d % 7 not in (5, 6) else 200.0 for d in range(DAYS)],
        "key_spike": [80.0] * (DAYS - 1) + [4000.0],
        "key_new": [0.0] * 22 + [60.0] * 8,
        "key_evil": [10.0] * DAYS,
        "key_leak": [0.0] * (DAYS - 2) + [5.0, 9.0],
    }
    for kid, series in shapes.items():
        name = EVIL if kid == "key_evil" else kid.removeprefix("key_")
        entry = usage.key(kid, name)
        entry.hint, entry.project = f"sk-proj-{kid[-3:]}...wxyz", "proj_a"
        for day, value in enumerate(series):
            entry.add(day, requests=value, tokens=value * 100, model="gpt-4o-mini")
    usage.key("key_idle", "idle").measured("requests", "tokens")
    usage.readouts = {"usage/completions": "ok", "usage/images": "unknown (api.openai.com: HTTP 403)"}
    usage.add_cost("proj_a / gpt-4o-mini, input", DAYS - 1, 12.5)
    usage.currency, usage.cost_grain = "USD", "per project and line item; cost per key is not offered"
    result.keys.append(AuditKey("openai", "key_leak", "leak", "openai://organization/projects/proj_a/api_keys/key_leak",
                                "/v1/organization/projects/proj_a/api_keys/key_leak",
                                leaked_in=[{"path": "app.py", "line": 1}]))
    anomalies.flag(result, usage)
    return result


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_report_in_headless_chromium(chromium, tmp_path):
    result = _result()
    page = tmp_path / "usage.html"
    page.write_text(render_html(result), encoding="utf-8")
    text = page.read_text(encoding="utf-8")

    static = _Elements()
    static.feed(text)
    assert not [a for _, a in static.tags if a.get("src") or a.get("href")]  # nothing to fetch
    assert [t for t, _ in static.tags].count("script") == 1  # ours, inline; the key name is text
    assert "Content-Security-Policy" in text and "default-src 'none'" in text

    dom, log = _dump_dom(chromium, page, tmp_path / "profile")
    parsed = _Elements()
    parsed.feed(dom)
    errors = re.search(r'<pre id="errors">(.*?)</pre>', dom, re.S)
    assert errors is not None and errors.group(1).strip() == "", errors and errors.group(1)
    assert "Uncaught" not in log and "Refused to" not in log

    series = [a for t, a in parsed.tags if "series" in (a.get("class") or "").split()]
    used = ["key_spike", "key_weekly", "key_flat", "key_new", "key_evil", "key_leak"]
    assert sorted(a["data-key"] for a in series) == sorted(used)  # one per key with usage, none for idle
    assert all(t == "polyline" and len(a["points"].split()) == DAYS for t, a in
               ((t, a) for t, a in parsed.tags if "series" in (a.get("class") or "").split()))
    ready = re.search(r'<html[^>]* data-ready="(\d+)"', dom)
    assert ready is not None and int(ready.group(1)) == len(used)  # the script ran to its end

    marks = {(a["data-key"], a["data-rule"]) for t, a in parsed.tags if t == "circle"}
    assert marks == {("key_spike", "usage-spike"), ("key_new", "usage-new-key"), ("key_leak", "usage-new-key"),
                     ("key_leak", "usage-leaked-key-in-use")}
    rows = {a["data-rule"] for t, a in parsed.tags if t == "tr" and "finding" in (a.get("class") or "")}
    assert rows == {"usage-spike", "usage-new-key", "usage-leaked-key-in-use"}
    assert "<title>keyguard audit openai</title>" in dom  # the evil name changed nothing
    assert not [a for t, a in parsed.tags if t == "img"] and "&lt;script&gt;document.title" in dom
    assert "unknown (api.openai.com: HTTP 403)" in dom and "12.50 USD" in dom


def test_html_without_usage_is_the_findings_page():
    """Without --usage the page is the audit's findings, no chart, still one inline script."""
    from keyguard.audit.crossref import LEAKED_RULE
    from keyguard.audit.model import AuditFinding

    result = AuditResult("anthropic", "organization (1 workspace)")
    result.flag(AuditFinding(LEAKED_RULE, "critical", "anthropic://organization/workspaces/w/api_keys/k", "/k",
                             f"leaked key still listed: {EVIL}", "found at a.py:1", "revoke it"))
    text = render_html(result)
    parsed = _Elements()
    parsed.feed(text)
    tags = [t for t, _ in parsed.tags]
    assert "svg" not in tags and tags.count("script") == 1 and "img" not in tags
    assert [a["data-rule"] for t, a in parsed.tags if t == "tr" and a.get("class") == "finding"] == \
        ["leaked-key-in-account"]
