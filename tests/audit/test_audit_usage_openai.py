"""``keyguard audit openai --usage`` against a stand-in for OpenAI's Admin, Usage and Costs APIs:
daily buckets paged with ``has_more``/``next_page``, a spiking key, a new key, a key that a real
``keyguard scan`` report shows leaked, a 403 on one usage endpoint (that read-out is unknown, the
rest go on), and 429s with ``Retry-After``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest

from keyguard.audit import anomalies, openai, usage_openai
from keyguard.audit.usage import Window, quiet
from keyguard.http import CredentialClient

from ..conftest import ROOT
from ..standin import Recorded, StandIn, reply

SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
DAYS = 14
NOW = datetime.now(timezone.utc)
FIRST = datetime(NOW.year, NOW.month, NOW.day, tzinfo=timezone.utc) - timedelta(days=DAYS - 1)


def _query(request: Recorded) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.path).query)


def _requests_by_day(day: int) -> dict[tuple[str, str], int]:
    """(api_key_id, model) -> requests on day ``day`` of the window (0 = first, DAYS - 1 = today)."""
    out = {("key_steady", "gpt-4o-mini"): 100 + (day % 3) * 5, ("key_spike", "gpt-4o-mini"): 90 + (day % 4) * 4}
    if day == DAYS - 1:
        out[("key_spike", "gpt-4o-mini")] = 3000
        out[("key_spike", "o3")] = 40  # a model the key never used before, on the spike day
    if day >= 10:
        out[("key_new", "gpt-4o")] = 50
    if day >= DAYS - 2:
        out[("key_leaked", "gpt-4o-mini")] = 7
    if day == 5:
        out[(None, "gpt-4o")] = 3  # dashboard use: no api_key_id
    return out


def _usage_pages(kind: str):
    """Answers like /v1/organization/usage/{kind}: daily buckets from start_time, ``limit`` per page."""
    def handler(request: Recorded):
        q = _query(request)
        assert q["bucket_width"] == ["1d"] and sorted(q["group_by"]) == ["api_key_id", "model"]
        start = datetime.fromtimestamp(int(q["start_time"][0]), timezone.utc)
        first = (start - FIRST).days
        offset = int(q.get("page", ["page_0"])[0].removeprefix("page_"))
        limit = int(q["limit"][0])
        days = list(range(first + offset, min(first + offset + limit, DAYS)))
        data = []
        for day in days:
            results = []
            if kind == "completions":
                for (kid, model), n in _requests_by_day(day).items():
                    results.append({"object": "organization.usage.completions.result", "input_tokens": n * 300,
                                    "output_tokens": n * 100, "input_cached_tokens": 0, "input_audio_tokens": 0,
                                    "output_audio_tokens": 0, "num_model_requests": n, "project_id": None,
                                    "user_id": None, "api_key_id": kid, "model": model, "batch": None})
            elif kind == "embeddings":
                results.append({"object": "organization.usage.embeddings.result", "input_tokens": 2000,
                                "num_model_requests": 20, "project_id": None, "user_id": None,
                                "api_key_id": "key_steady", "model": "text-embedding-3-small"})
            begin = FIRST + timedelta(days=day)
            data.append({"object": "bucket", "start_time": int(begin.timestamp()),
                         "end_time": int((begin + timedelta(days=1)).timestamp()), "results": results})
        more = first + offset + limit < DAYS
        return reply(200, {"object": "page", "data": data, "has_more": more,
                           "next_page": f"page_{offset + limit}" if more else None})
    return handler


def _throttled(then, times: int):
    count = [0]

    def handler(request: Recorded):
        count[0] += 1
        if count[0] <= times:
            return reply(429, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
                         headers={"Retry-After": "1"})
        return then(request)
    return handler


def _costs(request: Recorded):
    q = _query(request)
    if "api_key_id" in q["group_by"]:
        return reply(400, {"error": {"message": "Invalid value for group_by", "type": "invalid_request_error",
                                     "code": "invalid_value"}})
    assert sorted(q["group_by"]) == ["line_item", "project_id"]
    data = []
    for day in range(DAYS):
        begin = FIRST + timedelta(days=day)
        data.append({"object": "bucket", "start_time": int(begin.timestamp()),
                     "end_time": int((begin + timedelta(days=1)).timestamp()), "results": [
                         {"object": "organization.costs.result", "amount": {"value": 1.25, "currency": "usd"},
                          "line_item": "gpt-4o-mini, input", "project_id": "proj_a"},
                         {"object": "organization.costs.result", "amount": {"value": 0.5, "currency": "usd"},
                          "line_item": "gpt-4o, output", "project_id": "proj_c"}]})
    return reply(200, {"object": "page", "data": data, "has_more": False, "next_page": None})


def _list(data: list[dict]):
    return reply(200, {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                       "last_id": data[-1]["id"] if data else None, "has_more": False})


def _key(kid: str, name: str, redacted: str, created: datetime) -> dict:
    return {"object": "organization.project.api_key", "id": kid, "name": name, "redacted_value": redacted,
            "created_at": int(created.timestamp()), "last_used_at": int(NOW.timestamp()),
            "owner": {"type": "service_account", "service_account": {"id": "svc_1", "name": "deploy"}},
            "owner_project_access": "active"}


def _spend(cents: int, status: str, obj: str = "project.spend_limit"):
    return reply(200, {"object": obj, "threshold_amount": cents, "currency": "USD", "interval": "month",
                       "enforcement": {"status": status}})


@pytest.fixture
def account(make_key):
    admin, leaked = make_key("openai-admin-key"), make_key("openai-project-key")
    project = lambda pid, name: {"id": pid, "object": "organization.project", "name": name,  # noqa: E731
                                 "created_at": int(FIRST.timestamp()) - 86400 * 100, "status": "active"}
    old = NOW - timedelta(days=60)
    routes = {
        ("GET", "/v1/organization/projects"): _list([project("proj_a", "Web app"), project("proj_c", "Lab")]),
        ("GET", "/v1/organization/admin_api_keys"): _list([]),
        ("GET", "/v1/organization/spend_limit"): _spend(0, "inactive", "organization.spend_limit"),
        ("GET", "/v1/organization/projects/proj_a/api_keys"): _list([
            _key("key_steady", "backend", "sk-proj-Bk1...Aa11", old), _key("key_spike", "batch job", "sk-proj-Bt2...Bb22", old),
            _key("key_new", "new service", "sk-proj-Nw3...Cc33", NOW - timedelta(days=4)),
            _key("key_leaked", "ci", f"{leaked[:11]}...{leaked[-4:]}", old),
            _key("key_idle", "idle", "sk-proj-Id5...Ee55", old)]),
        ("GET", "/v1/organization/projects/proj_c/api_keys"): _list([]),
        ("GET", "/v1/organization/projects/proj_a/spend_limit"): _spend(200, "enforcing"),  # $2.00 a month
        ("GET", "/v1/organization/projects/proj_c/spend_limit"): _spend(0, "inactive"),
        ("GET", "/v1/organization/projects/proj_a/rate_limits"): _list([]),
        ("GET", "/v1/organization/projects/proj_c/rate_limits"): _list([]),
        ("GET", "/v1/organization/usage/completions"): _throttled(_usage_pages("completions"), 1),
        ("GET", "/v1/organization/usage/embeddings"): _usage_pages("embeddings"),
        ("GET", "/v1/organization/usage/moderations"): _usage_pages("moderations"),
        ("GET", "/v1/organization/usage/images"): reply(403, {"error": {
            "message": "Missing scopes: api.usage.read", "type": "invalid_request_error", "code": "insufficient_permissions"}}),
        # two 429s in a row: the client waits out the first, the read-out the second
        ("GET", "/v1/organization/usage/audio_speeches"): _throttled(_usage_pages("audio_speeches"), 2),
        ("GET", "/v1/organization/usage/audio_transcriptions"): _usage_pages("audio_transcriptions"),
        ("GET", "/v1/organization/costs"): _costs,
    }
    with StandIn(routes) as server:
        yield server, admin, leaked


def test_usage_read_out(account):
    server, admin, _ = account
    client = CredentialClient({openai.HOST: server.url}, min_interval=0)
    result = openai.audit(client, admin)
    usage = usage_openai.read(client, admin, result, Window(NOW, DAYS), quiet)

    steady, spike = usage.keys["key_steady"], usage.keys["key_spike"]
    assert list(steady.requests) == [100 + (d % 3) * 5 + 20 for d in range(DAYS)]  # completions + embeddings
    assert steady.tokens[0] == 100 * 400 + 2000
    assert spike.requests[-1] == 3040 and spike.models == {"gpt-4o-mini": 0, "o3": DAYS - 1}
    assert usage.keys["key_new"].requests[9] == 0 and usage.keys["key_new"].requests[10] == 50
    assert usage.keys["key_idle"].total("requests") == 0
    assert usage.keys[usage_openai.NO_KEY].requests[5] == 3
    assert steady.name == "backend" and steady.hint == "sk-proj-Bk1...Aa11" and steady.project == "proj_a"

    assert usage.readouts["usage/images"] == "unknown (api.openai.com: HTTP 403 insufficient_permissions)"
    assert usage.readouts["usage/completions"] == usage.readouts["usage/audio_speeches"] == "ok"
    assert usage.cost_grain.startswith("per project and line item; cost per key is not offered (unknown "
                                       "(api.openai.com: HTTP 400 invalid_value))")
    assert steady.cost is None and usage.currency == "USD"
    assert sum(usage.costs["proj_a / gpt-4o-mini, input"]) == pytest.approx(1.25 * DAYS)
    limits = {x["id"]: x for x in usage.limits}
    assert limits["proj_a"]["status"] == "enforced" and limits["proj_a"]["limit"] == 2.0
    assert limits["proj_c"]["status"] == "none"
    assert limits["organization"]["status"] == "none" and limits["organization"]["spent_window"] == pytest.approx(1.75 * DAYS)

    # pagination: 14 days at 7 a page is two pages per usage endpoint, the second asked for by next_page
    pages = [_query(r).get("page") for r in server.requests if r.path.startswith("/v1/organization/usage/embeddings")]
    assert pages == [None, ["page_7"]]
    speeches = [r for r in server.requests if r.path.startswith("/v1/organization/usage/audio_speeches")]
    assert len(speeches) == 4  # 429, 429, then two pages
    assert all(r.method == "GET" and r.headers["authorization"] == f"Bearer {admin}" for r in server.requests)


def _keyguard(*args: str, env: dict[str, str], cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keyguard", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def _env(server: StandIn, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYGUARD_", "OPENAI_"))}
    env["KEYGUARD_ENDPOINTS"] = f"{openai.HOST}={server.url}"
    env.update(extra)
    return env


def test_cli_usage_with_a_leaked_key(account, tmp_path):
    server, admin, leaked = account
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "deploy.sh").write_text(f'export OPENAI_API_KEY="{leaked}"\n')
    report = tmp_path / "scan.json"
    scan = _keyguard("scan", "src", "--format", "json", "--output", str(report), env=_env(server), cwd=tmp_path)
    assert scan.returncode == 1, scan.stderr

    p = _keyguard("audit", "openai", "--usage", "--days", str(DAYS), "--report", str(report), "--format", "json",
                  env=_env(server, OPENAI_ADMIN_KEY=admin))
    assert p.returncode == 1, p.stderr
    assert p.stderr == ""  # no progress line: stderr is not a terminal
    doc = json.loads(p.stdout)
    usage_findings = {(f["rule_id"], f["severity"], f.get("key", {}).get("id") or f["location"].rsplit("/", 1)[-1])
                      for f in doc["findings"] if f["rule_id"].startswith("usage-")}
    assert usage_findings == {
        ("usage-leaked-key-in-use", "critical", "key_leaked"),
        ("usage-spike", "high", "key_spike"),
        ("usage-new-model", "medium", "key_spike"),
        ("usage-new-key", "medium", "key_new"),
        ("usage-new-key", "low", "key_leaked"),
        ("usage-over-spend-limit", "high", "proj_a"),
        ("usage-spend-without-limit", "medium", "proj_c"),
        ("usage-spend-without-limit", "medium", "organization"),
    }
    top = doc["findings"][0]
    assert top["rule_id"] in ("usage-leaked-key-in-use", "leaked-key-in-account") and top["severity"] == "critical"
    in_use = next(f for f in doc["findings"] if f["rule_id"] == "usage-leaked-key-in-use")
    assert "14 requests in the window, on 2 day(s)" in in_use["reason"] and "deploy.sh:1" in in_use["reason"]
    spike = next(f for f in doc["findings"] if f["rule_id"] == "usage-spike")
    assert "3,040 requests" in spike["reason"]
    used = doc["usage"]
    assert used["days"][0] == FIRST.date().isoformat() and len(used["days"]) == DAYS
    assert used["readouts"]["usage/images"].startswith("unknown (api.openai.com: HTTP 403")
    assert {m["rule"] for m in used["anomalies"]} >= {"usage-spike", "usage-new-key", "usage-leaked-key-in-use"}
    assert next(k for k in used["keys"] if k["id"] == "key_leaked")["leaked"] is True

    text = _keyguard("audit", "openai", "--usage", "--days", str(DAYS), "--report", str(report),
                     env=_env(server, OPENAI_ADMIN_KEY=admin))
    assert text.returncode == 1
    row = next(line for line in text.stdout.splitlines() if line.startswith("  batch job"))
    assert "4.3k" in row and row.rstrip().endswith("▁▁▁▁▁▁▁▁▁▁▁▁▁█")
    assert "read-out usage/images: unknown (api.openai.com: HTTP 403 insufficient_permissions)" in text.stdout
    assert "1 key(s) with no usage in the window" in text.stdout

    sarif = _keyguard("audit", "openai", "--usage", "--days", str(DAYS), "--format", "sarif",
                      env=_env(server, OPENAI_ADMIN_KEY=admin))
    log = json.loads(sarif.stdout)
    jsonschema.validate(log, SARIF_SCHEMA)
    assert {"usage-spike", "usage-new-model"} <= {r["ruleId"] for r in log["runs"][0]["results"]}
    page = tmp_path / "usage.html"
    html = _keyguard("audit", "openai", "--usage", "--days", str(DAYS), "--format", "html", "-o", str(page),
                     env=_env(server, OPENAI_ADMIN_KEY=admin))
    assert html.returncode == 1 and html.stdout == ""
    body = page.read_text()
    assert body.count('<polyline class="series"') == 5  # steady, spike, new, leaked, and the no-key usage
    for out in (p, text, sarif, html):
        assert admin not in out.stdout + out.stderr and leaked not in out.stdout + out.stderr
    assert admin not in body and leaked not in body


def test_thousands_of_keys_over_90_days_in_bounded_memory():
    """2,000 keys x 90 days, one page a day: the read-out keeps one array per key and measure,
    never the pages (about 50 MB of JSON pass through it)."""
    import tracemalloc

    from keyguard.audit.model import AuditKey, AuditResult

    keys, days = 2000, 90
    served = [0]

    def completions(request: Recorded):
        q = _query(request)
        assert q["limit"] == ["1"]  # 1,500 key-days a page at most
        first = datetime.fromtimestamp(int(q["start_time"][0]), timezone.utc)
        day = int(q.get("page", ["page_0"])[0].removeprefix("page_"))
        begin = first + timedelta(days=day)
        results = [{"object": "organization.usage.completions.result", "input_tokens": 900 + k, "output_tokens": 100,
                    "input_cached_tokens": 0, "num_model_requests": 3 + (k % 5), "project_id": None, "user_id": None,
                    "api_key_id": f"key_{k:05d}", "model": "gpt-4o-mini", "batch": None} for k in range(keys)]
        more = day + 1 < days
        status, headers, body = reply(200, {"object": "page", "data": [
            {"object": "bucket", "start_time": int(begin.timestamp()),
             "end_time": int((begin + timedelta(days=1)).timestamp()), "results": results}],
            "has_more": more, "next_page": f"page_{day + 1}" if more else None})
        served[0] += len(body)
        return status, headers, body

    forbidden = reply(403, {"error": {"type": "invalid_request_error", "code": "insufficient_permissions"}})
    routes = {("GET", "/v1/organization/usage/completions"): completions,
              ("GET", "*"): forbidden}
    result = AuditResult("openai", "organization")
    result.keys = [AuditKey("openai", f"key_{k:05d}", f"service {k}", f"openai://organization/projects/p/api_keys/key_{k:05d}",
                            f"/v1/organization/projects/p/api_keys/key_{k:05d}", project="p", details={"kind": "project"})
                   for k in range(keys)]
    with StandIn(routes) as server:
        client = CredentialClient({openai.HOST: server.url}, min_interval=0)
        tracemalloc.start()
        try:
            usage = usage_openai.read(client, "sk-admin-test", result, Window(NOW, days), quiet)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert usage.readouts["usage/completions"] == "ok"
    assert usage.keys["key_00007"].total("requests") == days * 5 and usage.keys["key_01999"].requests[-1] == 7
    assert served[0] > 40_000_000
    assert peak < 40_000_000, peak  # the arrays are ~3 MB; one page's objects come and go


def test_progress_line_only_on_a_terminal(account, tmp_path):
    """stderr a real pseudo-terminal: a progress line, rewritten in place and cleared at the end."""
    import pty

    server, admin, _ = account
    master, slave = pty.openpty()
    try:
        p = subprocess.run([sys.executable, "-m", "keyguard", "audit", "openai", "--usage", "--days", str(DAYS),
                            "--format", "json"], stdout=subprocess.PIPE, stderr=slave, text=True,
                           env=_env(server, OPENAI_ADMIN_KEY=admin), timeout=120)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other end is closed and everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    err = b"".join(chunks).decode()
    assert p.returncode == 1 and json.loads(p.stdout)["usage"]["days"]
    assert "\r\x1b[Kreading openai usage/completions: " in err and err.endswith("\r\x1b[K")
    assert admin not in err and "\n" not in err.replace("\r\n", "")


def test_cost_per_key_where_the_costs_api_offers_it(account):
    server, admin, _ = account

    def costs(request: Recorded):
        q = _query(request)
        data = []
        for day in range(DAYS):
            begin = FIRST + timedelta(days=day)
            if q["group_by"] == ["api_key_id"]:
                results = [{"object": "organization.costs.result", "amount": {"value": 0.4, "currency": "usd"},
                            "api_key_id": "key_steady"},
                           {"object": "organization.costs.result", "amount": {"value": 0.1, "currency": "usd"},
                            "api_key_id": None}]
            else:
                results = [{"object": "organization.costs.result", "amount": {"value": 0.5, "currency": "usd"},
                            "line_item": "gpt-4o-mini, input", "project_id": "proj_a"}]
            data.append({"object": "bucket", "start_time": int(begin.timestamp()),
                         "end_time": int((begin + timedelta(days=1)).timestamp()), "results": results})
        return reply(200, {"object": "page", "data": data, "has_more": False, "next_page": None})

    server.routes[("GET", "/v1/organization/costs")] = costs
    client = CredentialClient({openai.HOST: server.url}, min_interval=0)
    result = openai.audit(client, admin)
    usage = usage_openai.read(client, admin, result, Window(NOW, DAYS), quiet)
    assert usage.cost_grain == "per key (api_key_id), and per project and line item"
    assert usage.keys["key_steady"].total("cost") == pytest.approx(0.4 * DAYS)
    assert usage.keys["key_spike"].total("cost") == 0  # cost per key offered, none for this key
    assert usage.keys[usage_openai.NO_KEY].total("cost") == pytest.approx(0.1 * DAYS)
    assert "costs by key" in usage.readouts and usage.readouts["costs by key"] == "ok"
