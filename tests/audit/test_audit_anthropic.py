"""``keyguard audit anthropic`` against a stand-in for Anthropic's Admin API (documented shapes,
``has_more``/``last_id`` pagination with ``after_id``, a 429 with Retry-After)."""
from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest

from keyguard.audit import anthropic
from keyguard.audit.model import AuditError
from keyguard.http import CredentialClient

from ..conftest import ROOT
from ..standin import Recorded, StandIn, reply

SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
NOW = datetime.now(timezone.utc)


def ago(days: int) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def admin_key() -> str:
    """A format-true Anthropic admin key, built at run time (sk-ant-admin01- + 93 + AA)."""
    rnd = random.Random()
    body = "".join(rnd.choice(string.ascii_letters + string.digits + "_-") for _ in range(93))
    return "sk-ant-" + "admin01-" + body + "AA"


def _query(request: Recorded) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}


def _listing(*pages: list[dict]):
    docs = [{"data": data, "first_id": data[0]["id"], "last_id": data[-1]["id"], "has_more": i < len(pages) - 1}
            for i, data in enumerate(pages)]
    by_after = {None: docs[0], **{doc["last_id"]: docs[i + 1] for i, doc in enumerate(docs[:-1])}}

    def handler(request: Recorded):
        doc = by_after.get(_query(request).get("after_id"))
        return reply(200, doc) if doc else reply(400, {"type": "error", "error": {"type": "invalid_request_error"}})
    return handler


def _key(kid: str, name: str, hint: str, created: int, status: str = "active", expires: str | None = None,
         workspace: str | None = "wrkspc_01Prod") -> dict:
    return {"type": "api_key", "id": kid, "name": name, "partial_key_hint": hint, "status": status,
            "created_at": ago(created), "expires_at": expires, "workspace_id": workspace,
            "created_by": {"id": "user_01Dev", "type": "user"}}


def _rate_limited_once(then):
    """429 with Retry-After on the first request, then ``then``."""
    calls: list[Recorded] = []

    def handler(request: Recorded):
        calls.append(request)
        if len(calls) == 1:
            return reply(429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
                         headers={"Retry-After": "0"})
        return then(request)
    return handler


@pytest.fixture
def org():
    key = admin_key()
    routes = {
        ("GET", "/v1/organizations/workspaces"): _listing(
            [{"type": "workspace", "id": "wrkspc_01Prod", "name": "Production", "created_at": ago(400),
              "archived_at": None, "display_color": "#6C5BB9"}],
            [{"type": "workspace", "id": "wrkspc_01Lab", "name": "Lab", "created_at": ago(100),
              "archived_at": None, "display_color": "#AA5500"}]),
        ("GET", "/v1/organizations/api_keys"): _rate_limited_once(_listing(
            [_key("apikey_01Old", "legacy backend", "sk-ant-api03-Ol1...x9AA", 200),
             _key("apikey_01New", "new service", "sk-ant-api03-Nw2...y8AA", 10, workspace=None)],
            [_key("apikey_01Exp", "temporary", "sk-ant-api03-Ex3...z7AA", 300, expires=ago(-20),
                  workspace="wrkspc_01Lab"),
             _key("apikey_01Arc", "archived", "sk-ant-api03-Ar4...w6AA", 500, status="archived"),
             _key("apikey_01Leak", "notebook", "sk-ant-api03-R2D...igAA", 5)])),
    }
    with StandIn(routes) as server:
        yield server, key


def test_findings_inventory_and_requests(org):
    server, key = org
    result = anthropic.audit(CredentialClient({anthropic.HOST: server.url}, min_interval=0), key, now=NOW)
    got = {(f.location.rsplit("/", 1)[-1], f.rule.id, f.severity) for f in result.findings}
    assert got == {
        ("apikey_01Old", "anthropic-key-old-no-expiry", "low"),
        ("used-by-keyguard", "anthropic-admin-key-alive", "low"),
    }
    old = next(f for f in result.findings if f.rule.id == "anthropic-key-old-no-expiry")
    assert "200-day-old key that never expires: legacy backend (sk-ant-api03-Ol1...x9AA) in Production" == old.title
    assert "does not report when it was last used" in old.reason
    assert old.fix.startswith("curl -X POST https://api.anthropic.com/v1/organizations/api_keys/apikey_01Old ")
    assert '{"status": "inactive"}' in old.fix
    mine = next(f for f in result.findings if f.rule.id == "anthropic-admin-key-alive")
    assert key not in mine.title and mine.title.endswith(f"(sk-ant-admin01-…{key[-4:]})")

    assert sorted(k.id for k in result.keys) == ["apikey_01Exp", "apikey_01Leak", "apikey_01New", "apikey_01Old"]
    assert {p["id"]: p["keys"] for p in result.projects} == {"default": 1, "wrkspc_01Lab": 1, "wrkspc_01Prod": 2}
    assert any("1 inactive, archived or expired key(s)" in n for n in result.notes)
    assert any(n.startswith("last use of each key: unknown") for n in result.notes)
    assert any(n.startswith("workspace spend and rate limits: unknown") for n in result.notes)

    reqs = server.requests
    assert all(r.method == "GET" and r.body == b"" for r in reqs)
    assert all(r.headers["x-api-key"] == key and r.headers["anthropic-version"] == "2023-06-01" for r in reqs)
    assert "authorization" not in {h for r in reqs for h in r.headers}
    keys = [r for r in reqs if r.path.startswith("/v1/organizations/api_keys")]
    assert [_query(r).get("after_id") for r in keys] == [None, None, "apikey_01New"]  # 429, retry, page 2
    workspaces = [r for r in reqs if r.path.startswith("/v1/organizations/workspaces")]
    assert [_query(r).get("after_id") for r in workspaces] == [None, "wrkspc_01Prod"]


def _keyguard(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keyguard", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def _env(server: StandIn, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYGUARD_", "ANTHROPIC_"))}
    env["KEYGUARD_ENDPOINTS"] = f"{anthropic.HOST}={server.url}"
    env.update(extra)
    return env


def test_cli_report_cross_reference_and_sarif(org, tmp_path):
    server, key = org
    # a scan report as `keyguard scan --format json` writes it (redacted: known prefix + last 4)
    report = tmp_path / "scan.json"
    report.write_text(json.dumps({"version": "0.1.0", "findings": [
        {"rule_id": "anthropic-api-key", "provider": "anthropic", "path": "notebooks/demo.ipynb", "line": 12,
         "redacted": "sk-ant-api03…igAA", "secret_sha256": "ab" * 32, "severity": "critical"},
        {"rule_id": "anthropic-api-key", "provider": "anthropic", "path": "old.env", "line": 1,
         "redacted": "sk-ant-api03…QQAA", "secret_sha256": "cd" * 32, "severity": "critical"},
        {"rule_id": "google-api-key", "provider": "google", "path": "web/app.js", "line": 3,
         "redacted": "AIza…abcd", "secret_sha256": "ef" * 32, "severity": "high"}],
        "stats": {}, "errors": []}))
    p = _keyguard("audit", "anthropic", "--report", str(report), "--format", "sarif",
                  env=_env(server, ANTHROPIC_ADMIN_KEY=key))
    assert p.returncode == 1, p.stderr
    log = json.loads(p.stdout)
    jsonschema.validate(log, SARIF_SCHEMA)
    first = log["runs"][0]["results"][0]
    assert first["ruleId"] == "leaked-key-in-account" and first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "anthropic://organization/workspaces/wrkspc_01Prod/api_keys/apikey_01Leak"
    assert "notebooks/demo.ipynb:12" in first["message"]["text"]
    assert key not in p.stdout + p.stderr

    p = _keyguard("audit", "anthropic", "--report", str(report), "--format", "json",
                  env=_env(server, ANTHROPIC_ADMIN_KEY=key))
    doc = json.loads(p.stdout)
    assert doc["findings"][0]["severity"] == "critical"
    assert any("2 distinct anthropic secret(s); 1 match a key listed here, 1 match none" in n for n in doc["notes"])


def test_forbidden_key_is_fatal_and_missing_key_is_one_line(org):
    server, key = org
    server.routes[("GET", "/v1/organizations/workspaces")] = reply(
        403, {"type": "error", "error": {"type": "permission_error", "message": f"key {key} is not an admin key"}})
    p = _keyguard("audit", "anthropic", env=_env(server, ANTHROPIC_ADMIN_KEY=key))
    assert p.returncode == 2 and key not in p.stderr and "Traceback" not in p.stderr
    assert "HTTP 403 permission_error" in p.stderr and "must be an Admin API key" in p.stderr
    p = _keyguard("audit", "anthropic", env=_env(server))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "ANTHROPIC_ADMIN_KEY is not set" in p.stderr
    with pytest.raises(AuditError):
        anthropic.admin_key_from_environment({"ANTHROPIC_ADMIN_KEY": "  "})
