"""Usage read-outs for Anthropic (usage and cost reports), Google Cloud (Cloud Monitoring
request_count by credential_id) and OpenRouter (keys against their limits), each against a
stand-in answering in the provider's documented shapes, with pagination, a spike, a new key or
API, a leaked key, a 403 on one read-out (unknown, the rest go on) and a 429 with Retry-After."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from keyguard.audit import anomalies, anthropic, crossref, gcp, usage_anthropic, usage_gcp, usage_openrouter
from keyguard.audit.usage import Window, quiet
from keyguard.http import CredentialClient

from ..standin import Recorded, StandIn, reply

DAYS = 12
NOW = datetime.now(timezone.utc)
FIRST = datetime(NOW.year, NOW.month, NOW.day, tzinfo=timezone.utc) - timedelta(days=DAYS - 1)


def _query(request: Recorded) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.path).query)


def _rfc3339(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _throttled_once(then):
    calls = [0]

    def handler(request: Recorded):
        calls[0] += 1
        if calls[0] == 1:
            return reply(429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
                         headers={"Retry-After": "1"})
        return then(request)
    return handler


# -- Anthropic --------------------------------------------------------------------------------
def _anthropic_tokens(day: int) -> dict[tuple[str | None, str], int]:
    out = {("apikey_01Prod", "claude-sonnet-4-20250514"): 200_000 + (day % 2) * 10_000}
    if day == DAYS - 1:
        out[("apikey_01Prod", "claude-sonnet-4-20250514")] = 2_500_000
    if day >= DAYS - 3:
        out[("apikey_01Leak", "claude-opus-4-20250514")] = 90_000
    if day == 2:
        out[(None, "claude-sonnet-4-20250514")] = 5_000  # Workbench: no api_key_id
    return out


def _anthropic_report(request: Recorded):
    q = _query(request)
    assert q["bucket_width"] == ["1d"] and q["group_by[]"] == ["api_key_id", "model"]
    start = datetime.fromisoformat(q["starting_at"][0].replace("Z", "+00:00"))
    offset = int(q.get("page", ["page_0"])[0].removeprefix("page_"))
    first, limit = (start - FIRST).days + offset, int(q["limit"][0])
    data = []
    for day in range(first, min(first + limit, DAYS)):
        begin = FIRST + timedelta(days=day)
        data.append({"starting_at": _rfc3339(begin), "ending_at": _rfc3339(begin + timedelta(days=1)), "results": [
            {"uncached_input_tokens": n // 2, "cache_creation": {"ephemeral_1h_input_tokens": 0,
                                                                 "ephemeral_5m_input_tokens": n // 10},
             "cache_read_input_tokens": n // 10, "output_tokens": n - n // 2 - 2 * (n // 10),
             "server_tool_use": {"web_search_requests": 0}, "api_key_id": kid, "workspace_id": "wrkspc_01Prod",
             "model": model, "service_tier": "standard", "context_window": "0-200k"}
            for (kid, model), n in _anthropic_tokens(day).items()]})
    more = first + limit < DAYS
    return reply(200, {"data": data, "has_more": more, "next_page": f"page_{offset + limit}" if more else None})


def _anthropic_key(kid: str, name: str, hint: str) -> dict:
    return {"type": "api_key", "id": kid, "name": name, "partial_key_hint": hint, "status": "active",
            "created_at": _rfc3339(NOW - timedelta(days=50)), "expires_at": None, "workspace_id": "wrkspc_01Prod",
            "created_by": {"id": "user_01Dev", "type": "user"}}


@pytest.fixture
def anthropic_org(make_key):
    admin, leaked = make_key("anthropic-admin-key"), make_key("anthropic-api-key")
    routes = {
        ("GET", "/v1/organizations/workspaces"): reply(200, {"data": [
            {"type": "workspace", "id": "wrkspc_01Prod", "name": "Production", "created_at": _rfc3339(FIRST)}],
            "has_more": False, "first_id": "wrkspc_01Prod", "last_id": "wrkspc_01Prod"}),
        ("GET", "/v1/organizations/api_keys"): reply(200, {"data": [
            _anthropic_key("apikey_01Prod", "backend", "sk-ant-api03-Pr1...k9AA"),
            _anthropic_key("apikey_01Leak", "notebook", f"{leaked[:16]}...{leaked[-4:]}")],
            "has_more": False, "first_id": "apikey_01Prod", "last_id": "apikey_01Leak"}),
        ("GET", "/v1/organizations/usage_report/messages"): _throttled_once(_anthropic_report),
        ("GET", "/v1/organizations/cost_report"): reply(403, {"type": "error", "error": {
            "type": "permission_error", "message": "not allowed"}}),
    }
    with StandIn(routes) as server:
        yield server, admin, leaked


def test_anthropic_usage(anthropic_org):
    server, admin, leaked = anthropic_org
    client = CredentialClient({anthropic.HOST: server.url}, min_interval=0)
    result = anthropic.audit(client, admin)
    usage = usage_anthropic.read(client, admin, result, Window(NOW, DAYS), quiet)
    prod = usage.keys["apikey_01Prod"]
    assert prod.requests is None  # the report has no request counts: not reported, not zero
    assert prod.tokens[0] == 200_000 and prod.tokens[-1] == 2_500_000
    assert usage.keys[usage_anthropic.NO_KEY].tokens[2] == 5_000
    assert usage.readouts == {"usage report": "ok",
                              "cost report": "unknown (api.anthropic.com: HTTP 403 permission_error)"}
    assert usage.cost_grain.endswith("no per-key cost: unknown (api.anthropic.com: HTTP 403 permission_error)")
    reports = [r for r in server.requests if r.path.startswith("/v1/organizations/usage_report/messages")]
    assert [_query(r).get("page") for r in reports] == [None, None, ["page_7"]]  # 429, retry, page 2
    assert all(r.headers["x-api-key"] == admin for r in server.requests)

    secret = crossref.LeakedSecret("anthropic", "anthropic-api-key", "notebook.ipynb", 4,
                                   f"sk-ant-…{leaked[-4:]}", "0" * 64)
    crossref.apply(result, [secret], ("anthropic",))
    anomalies.flag(result, usage)
    got = {(f.rule.id, f.severity, f.location.rsplit("/", 1)[-1]) for f in result.findings if f.rule.id.startswith("usage-")}
    assert got == {("usage-spike", "high", "apikey_01Prod"),
                   ("usage-leaked-key-in-use", "critical", "apikey_01Leak"),
                   ("usage-new-key", "medium", "apikey_01Leak")}
    in_use = next(f for f in result.findings if f.rule.id == "usage-leaked-key-in-use")
    assert "270,000 tokens in the window, on 3 day(s)" in in_use.reason and "notebook.ipynb:4" in in_use.reason


# -- Google Cloud -----------------------------------------------------------------------------
TOKEN = "ya29.test-token-for-the-stand-in"


def _point(day: int, value: int) -> dict:
    end = NOW - timedelta(days=DAYS - 1 - day)
    return {"interval": {"startTime": _rfc3339(end - timedelta(days=1)), "endTime": _rfc3339(end)},
            "value": {"int64Value": str(value)}}


def _series(credential: str | None, service: str, values: dict[int, int]) -> dict:
    labels = {"project_id": "maps-prod", "service": service}
    if credential:
        labels["credential_id"] = credential
    return {"metric": {"type": usage_gcp.METRIC, "labels": {}}, "resource": {"type": "consumed_api", "labels": labels},
            "metricKind": "DELTA", "valueType": "INT64",
            "points": [_point(d, v) for d, v in sorted(values.items(), reverse=True)]}


def _timeseries(request: Recorded):
    q = _query(request)
    assert q["aggregation.groupByFields"] == ["resource.label.credential_id", "resource.label.service"]
    assert q["aggregation.alignmentPeriod"] == ["86400s"] and "request_count" in q["filter"][0]
    maps = {d: 300 + (d % 7) * 10 for d in range(DAYS)}
    first = {"timeSeries": [
        _series("apikey:uid-maps", "maps-backend.googleapis.com", maps),
        _series("apikey:uid-maps", "generativelanguage.googleapis.com", {DAYS - 2: 40, DAYS - 1: 900})],
        "nextPageToken": "tok2", "unit": "1"}
    second = {"timeSeries": [
        _series("apikey:uid-web", "maps-backend.googleapis.com", {d: 50 for d in range(DAYS)}),
        _series(None, "translate.googleapis.com", {3: 12})], "unit": "1"}
    return reply(200, second if q.get("pageToken") == ["tok2"] else first)


def _gcp_key(uid: str, name: str) -> dict:
    return {"name": f"projects/123/locations/global/keys/{uid}", "uid": uid, "displayName": name,
            "createTime": _rfc3339(NOW - timedelta(days=200)), "restrictions": {
                "apiTargets": [{"service": "maps-backend.googleapis.com"}],
                "browserKeyRestrictions": {"allowedReferrers": ["https://example.com/*"]}}}


@pytest.fixture
def gcp_org():
    routes = {
        ("GET", "/v1/projects"): reply(200, {"projects": [
            {"projectId": "maps-prod", "projectNumber": "123", "name": "Maps", "lifecycleState": "ACTIVE"},
            {"projectId": "locked-proj", "projectNumber": "456", "name": "Locked", "lifecycleState": "ACTIVE"}]}),
        ("GET", "/v2/projects/maps-prod/locations/global/keys"): reply(200, {"keys": [
            _gcp_key("uid-maps", "Maps key"), _gcp_key("uid-web", "Web key"), _gcp_key("uid-idle", "Idle key")]}),
        ("GET", "/v2/projects/locked-proj/locations/global/keys"): reply(200, {"keys": []}),
        ("GET", "/v1/projects/maps-prod/services/generativelanguage.googleapis.com"): reply(200, {"state": "ENABLED"}),
        ("GET", "/v1/projects/locked-proj/services/generativelanguage.googleapis.com"): reply(200, {"state": "DISABLED"}),
        ("GET", "/v3/projects/maps-prod/timeSeries"): _timeseries,
        ("GET", "/v3/projects/locked-proj/timeSeries"): reply(403, {"error": {
            "code": 403, "message": "Permission monitoring.timeSeries.list denied", "status": "PERMISSION_DENIED"}}),
    }
    with StandIn(routes) as server:
        yield server


def test_gcp_usage(gcp_org):
    server = gcp_org
    hosts = (gcp.RESOURCE_MANAGER, gcp.SERVICE_USAGE, gcp.API_KEYS, usage_gcp.MONITORING)
    client = CredentialClient({h: server.url for h in hosts}, min_interval=0)
    token = gcp.GcpToken(TOKEN)
    result = gcp.audit(client, token)
    usage = usage_gcp.read(client, token, result, Window(NOW, DAYS), quiet)
    maps = usage.keys["apikey:uid-maps"]
    assert maps.name == "Maps key" and maps.requests[-1] == 300 + ((DAYS - 1) % 7) * 10 + 900
    assert maps.models == {"maps-backend.googleapis.com": 0, "generativelanguage.googleapis.com": DAYS - 2}
    assert usage.keys["apikey:uid-idle"].total("requests") == 0  # listed, read, unused
    assert usage.keys["maps-prod (no credential_id)"].requests[3] == 12
    assert usage.readouts["monitoring maps-prod"] == "ok"
    assert usage.readouts["monitoring locked-proj"] == ("unknown (monitoring.googleapis.com: HTTP 403 PERMISSION_DENIED "
                                                        "(needs monitoring.timeSeries.list: roles/monitoring.viewer))")
    assert usage.cost_grain.startswith("none: Cloud Monitoring reports request counts, not cost")
    assert any("without a credential_id label" in n for n in usage.notes)
    pages = [_query(r).get("pageToken") for r in server.requests if r.path.startswith("/v3/projects/maps-prod/")]
    assert pages == [None, ["tok2"]]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests)

    anomalies.flag(result, usage)
    got = {(f.rule.id, f.severity, f.title) for f in result.findings if f.rule.id.startswith("usage-")}
    assert got == {("usage-new-model", "high", "new model or API for Maps key in maps-prod: "
                                               "generativelanguage.googleapis.com"),
                   ("usage-spike", "high", "usage spike: Maps key in maps-prod")}


# -- OpenRouter -------------------------------------------------------------------------------
def _or_key(i: int, **extra) -> dict:
    key = {"hash": f"{i:064x}", "name": f"customer {i}", "label": f"sk-or-v1-{i:03x}...{i:04x}", "disabled": False,
           "limit": 10.0, "limit_remaining": 9.0, "limit_reset": "monthly", "include_byok_in_limit": False,
           "usage": 1.0, "usage_daily": 0.0, "usage_weekly": 0.5, "usage_monthly": 1.0, "byok_usage": 0,
           "created_at": _rfc3339(NOW - timedelta(days=90)), "updated_at": _rfc3339(NOW),
           "expires_at": None, "last_used_at": _rfc3339(NOW - timedelta(days=1))}
    key.update(extra)
    return key


@pytest.fixture
def openrouter_account(make_key):
    mgmt, leaked = make_key("openrouter-api-key"), make_key("openrouter-api-key")
    keys = [_or_key(i) for i in range(103)]
    keys[0] = _or_key(0, name="runaway", limit=20.0, limit_remaining=0.0, usage=55.0, usage_daily=9.0,
                      usage_monthly=21.5)
    keys[1] = _or_key(1, name="no cap", limit=None, limit_remaining=None, limit_reset=None, usage=7.0,
                      usage_monthly=3.25)
    keys[102] = _or_key(102, name="leaked", label=f"{leaked[:12]}...{leaked[-4:]}", usage_daily=0.75)

    def listing(request: Recorded):
        offset = int(_query(request).get("offset", ["0"])[0])
        return reply(200, {"data": keys[offset:offset + 100]})
    routes = {("GET", "/api/v1/keys"): _throttled_once(listing),
              ("GET", "/api/v1/credits"): reply(200, {"data": {"total_credits": 100.0, "total_usage": 80.5}})}
    with StandIn(routes) as server:
        yield server, mgmt, leaked


def test_openrouter_usage_against_limits(openrouter_account, tmp_path):
    server, mgmt, leaked = openrouter_account
    client = CredentialClient({usage_openrouter.HOST: server.url}, min_interval=0)
    result = usage_openrouter.audit(client, mgmt, Window(NOW, DAYS), quiet)
    usage = result.usage
    assert len(result.keys) == len(usage.keys) == 103 and usage.daily is False
    assert [_query(r).get("offset") for r in server.requests if r.path.startswith("/api/v1/keys")] == \
        [None, None, ["100"]]  # 429, retry, page 2
    runaway = usage.keys[f"{0:064x}"]
    assert runaway.totals["usage_monthly"] == 21.5 and runaway.totals["limit"] == 20.0
    assert usage.readouts == {"keys": "ok", "credits": "ok"}
    secret = crossref.LeakedSecret("openrouter", "openrouter-api-key", ".env", 2, f"sk-or-v1-…{leaked[-4:]}", "0" * 64)
    crossref.apply(result, [secret], ("openrouter",))
    anomalies.flag(result, usage)
    got = {(f.rule.id, f.severity, f.title) for f in result.findings}
    assert got == {("usage-over-spend-limit", "high", "spend limit reached: key runaway"),
                   ("usage-spend-without-limit", "medium", "spend without a limit: key no cap"),
                   ("leaked-key-in-account", "critical", f"leaked key still listed: leaked ({leaked[:12]}...{leaked[-4:]})"),
                   ("usage-leaked-key-in-use", "critical", f"leaked key is being used: leaked ({leaked[:12]}...{leaked[-4:]})")}
    over = next(f for f in result.findings if f.rule.id == "usage-over-spend-limit")
    assert "21.50 USD spent this month against a limit of 20.00 USD" in over.reason
    assert "spent 0.75 USD today" in next(f for f in result.findings if f.rule.id == "usage-leaked-key-in-use").reason


def test_openrouter_cli_credits_forbidden(openrouter_account, tmp_path):
    server, mgmt, _ = openrouter_account
    server.routes[("GET", "/api/v1/credits")] = reply(403, {"error": {"code": 403, "message": "Forbidden"}})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYGUARD_", "OPENROUTER_"))}
    env.update(KEYGUARD_ENDPOINTS=f"{usage_openrouter.HOST}={server.url}", OPENROUTER_MANAGEMENT_KEY=mgmt)
    page = tmp_path / "or.html"
    p = subprocess.run([sys.executable, "-m", "keyguard", "audit", "openrouter", "--format", "html", "-o", str(page)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1, p.stderr
    body = page.read_text()
    assert body.count('<rect class="series"') == 103  # one bar per key that spent
    assert "read-out credits: unknown (openrouter.ai: HTTP 403)" in body
    j = subprocess.run([sys.executable, "-m", "keyguard", "audit", "openrouter", "--format", "json"],
                       capture_output=True, text=True, env=env, timeout=120)
    doc = json.loads(j.stdout)
    assert doc["usage"]["readouts"]["credits"] == "unknown (openrouter.ai: HTTP 403)"
    assert mgmt not in body + j.stdout + j.stderr + p.stderr
    missing = subprocess.run([sys.executable, "-m", "keyguard", "audit", "openrouter"], capture_output=True, text=True,
                             env={k: v for k, v in env.items() if k != "OPENROUTER_MANAGEMENT_KEY"}, timeout=60)
    assert missing.returncode == 2 and "OPENROUTER_MANAGEMENT_KEY is not set" in missing.stderr
