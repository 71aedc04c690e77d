"""``keyguard audit openai`` against a stand-in for OpenAI's Admin API (documented list shapes,
``has_more``/``last_id`` pagination, a 403 project, a 429 with Retry-After), cross-referenced with
a real ``keyguard scan`` report."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest

from keyguard.audit import crossref, openai
from keyguard.audit.model import AuditError
from keyguard.audit.report import render
from keyguard.http import CredentialClient
from keyguard.model import redact

from ..conftest import ROOT
from ..standin import Recorded, StandIn, reply, sequence

SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
NOW = time.time()


def ago(days: float) -> int:
    return int(NOW - days * 86400)


def _query(request: Recorded) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}


def _listing(*pages: list[dict]):
    """OpenAI list pages: has_more/last_id out, ``after`` in."""
    docs = []
    for i, data in enumerate(pages):
        docs.append({"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                     "last_id": data[-1]["id"] if data else None, "has_more": i < len(pages) - 1})
    by_after = {None: docs[0]}
    for i, doc in enumerate(docs[:-1]):
        by_after[doc["last_id"]] = docs[i + 1]

    def handler(request: Recorded):
        doc = by_after.get(_query(request).get("after"))
        return reply(200, doc) if doc else reply(400, {"error": {"type": "invalid_request_error"}})
    return handler


def hint(key: str, head: int) -> str:
    return f"{key[:head]}...{key[-4:]}"


def _user(email: str) -> dict:
    return {"type": "user", "user": {"object": "organization.project.user", "id": f"user-{email[:3]}",
                                     "name": email.split("@")[0], "email": email, "role": "owner",
                                     "added_at": ago(400)}}


def _project_key(kid: str, name: str, redacted: str, created: float, used: float | None, **extra) -> dict:
    return {"object": "organization.project.api_key", "id": kid, "name": name, "redacted_value": redacted,
            "created_at": ago(created), "last_used_at": None if used is None else ago(used),
            "owner": _user("dev@example.com"), "owner_project_access": "active", **extra}


def _project(pid: str, name: str) -> dict:
    return {"id": pid, "object": "organization.project", "name": name, "created_at": ago(500),
            "archived_at": None, "status": "active"}


def _spend(cents: int, status: str, obj: str = "project.spend_limit") -> tuple:
    return reply(200, {"object": obj, "threshold_amount": cents, "currency": "USD", "interval": "month",
                       "enforcement": {"status": status}})


@pytest.fixture
def account(make_key):
    admin = make_key("openai-admin-key")
    leaked = make_key("openai-project-key")
    elsewhere = make_key("openai-project-key")  # leaked too, but from some other organization
    routes = {
        ("GET", "/v1/organization/projects"): _listing([_project("proj_a", "Web app")],
                                                       [_project("proj_b", "Locked"), _project("proj_c", "Lab")]),
        ("GET", "/v1/organization/admin_api_keys"): sequence(
            reply(429, {"error": {"type": "rate_limit_exceeded"}}, headers={"Retry-After": "0"}),
            reply(200, {"object": "list", "has_more": False, "first_id": "key_me", "last_id": "key_old", "data": [
                {"object": "organization.admin_api_key", "id": "key_me", "name": "Audit key",
                 "redacted_value": hint(admin, 8), "created_at": ago(3), "last_used_at": ago(0),
                 "expires_at": ago(-30), "owner": {"type": "user", "object": "organization.user",
                                                   "id": "user-me", "name": "Me", "role": "owner"}},
                {"object": "organization.admin_api_key", "id": "key_old", "name": "Old automation",
                 "redacted_value": "sk-admin...Zq9", "created_at": ago(400), "last_used_at": ago(200),
                 "expires_at": None, "owner": {"type": "user", "id": "user-x", "name": "Former admin"}},
            ]})),
        ("GET", "/v1/organization/spend_limit"): _spend(0, "inactive", "organization.spend_limit"),
        ("GET", "/v1/organization/projects/proj_a/api_keys"): _listing(
            [_project_key("key_live", "prod", "sk-proj-Lv1...AbC1", 30, 1),
             _project_key("key_stale", "old experiment", "sk-proj-St4...XyZ2", 300, 120)],
            [_project_key("key_leaked", "ci", hint(leaked, 11), 60, 2),
             _project_key("key_gone", "intern", "sk-proj-Gn7...QwE3", 20, 5, owner_project_access="inactive"),
             _project_key("key_never", "never used", "sk-proj-Nv8...RtY4", 100, None)]),
        ("GET", "/v1/organization/projects/proj_a/spend_limit"): _spend(10000, "enforcing"),
        ("GET", "/v1/organization/projects/proj_a/rate_limits"): _listing([
            {"object": "project.rate_limit", "id": "rl-gpt", "model": "gpt-4o", "max_requests_per_1_minute": 500,
             "max_tokens_per_1_minute": 30000},
            {"object": "project.rate_limit", "id": "rl-emb", "model": "text-embedding-3-small",
             "max_requests_per_1_minute": 3000, "max_tokens_per_1_minute": 1000000}]),
        ("GET", "/v1/organization/projects/proj_b/api_keys"): reply(
            403, {"error": {"message": "You do not have access to this project.", "type": "invalid_request_error",
                            "code": "insufficient_permissions"}}),
        ("GET", "/v1/organization/projects/proj_c/api_keys"): _listing([]),
        ("GET", "/v1/organization/projects/proj_c/spend_limit"): _spend(0, "inactive"),
        ("GET", "/v1/organization/projects/proj_c/rate_limits"): reply(404, {"error": {"type": "not_found"}}),
    }
    with StandIn(routes) as server:
        yield server, admin, leaked, elsewhere


def test_findings_and_inventory(account):
    server, admin, _, _ = account
    result = openai.audit(CredentialClient({openai.HOST: server.url}, min_interval=0), admin,
                          now=datetime.fromtimestamp(NOW, timezone.utc))
    got = {(f.location.rsplit("/", 1)[-1], f.rule.id, f.severity) for f in result.findings}
    assert got == {
        ("key_me", "openai-admin-key-alive", "low"),  # expires in 30 days, used today
        ("key_old", "openai-admin-key-alive", "high"),  # unused for 200 days, never expires
        ("key_stale", "openai-key-unused", "medium"),
        ("key_never", "openai-key-unused", "medium"),
        ("key_gone", "openai-key-owner-without-access", "medium"),
        ("proj_c", "openai-project-no-hard-spend-limit", "medium"),
    }
    by = {f.location.rsplit("/", 1)[-1]: f for f in result.findings}
    assert "This is the key keyguard used for this audit." in by["key_me"].reason
    assert "last used 200 days ago" in by["key_old"].reason.lower()
    assert "last used 120 days ago" in by["key_stale"].reason.lower()
    assert "never used in the 100 days" in by["key_never"].reason.lower()
    assert by["key_stale"].fix == ('curl -X DELETE https://api.openai.com/v1/organization/projects/proj_a/api_keys/'
                                   'key_stale -H "Authorization: Bearer $OPENAI_ADMIN_KEY"')
    assert "threshold_amount=0, enforcement.status=inactive" in by["proj_c"].reason
    assert "organization has no enforced hard limit either" in by["proj_c"].reason

    projects = {p["id"]: p for p in result.projects}
    assert projects["proj_a"]["spend_limit"] == "hard limit $100.00/month" and projects["proj_a"]["rate_limits"] == 2
    assert projects["proj_c"]["rate_limits"].startswith("unknown (api.openai.com: HTTP 404")
    assert result.skipped == [{"project": "proj_b",
                               "reason": "api.openai.com: HTTP 403 insufficient_permissions"}]
    assert len([k for k in result.keys if k.details["kind"] == "project"]) == 5

    reqs = server.requests
    assert all(r.method == "GET" and r.body == b"" for r in reqs)
    assert all(r.headers["authorization"] == f"Bearer {admin}" for r in reqs)
    assert [_query(r).get("after") for r in reqs if r.path.startswith("/v1/organization/projects?")] == [None, "proj_a"]
    key_pages = [r for r in reqs if r.path.startswith("/v1/organization/projects/proj_a/api_keys")]
    assert [_query(r).get("after") for r in key_pages] == [None, "key_stale"]
    assert all(_query(r)["owner_project_access"] == "any" for r in key_pages)
    assert len([r for r in reqs if r.path.startswith("/v1/organization/admin_api_keys")]) == 2  # 429, retry


def test_org_hard_limit_lowers_project_finding(account):
    server, admin, _, _ = account
    server.routes[("GET", "/v1/organization/spend_limit")] = _spend(50000, "enforcing", "organization.spend_limit")
    result = openai.audit(CredentialClient({openai.HOST: server.url}, min_interval=0), admin)
    [finding] = [f for f in result.findings if f.rule.id == "openai-project-no-hard-spend-limit"]
    assert finding.severity == "low" and "hard limit ($500.00/month) still applies" in finding.reason


def _keyguard(*args: str, env: dict[str, str], cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keyguard", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)


def _env(server: StandIn, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYGUARD_", "OPENAI_"))}
    env["KEYGUARD_ENDPOINTS"] = f"{openai.HOST}={server.url}"
    env.update(extra)
    return env


def test_cli_cross_references_a_real_scan_report(account, tmp_path):
    server, admin, leaked, elsewhere = account
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "settings.py").write_text(f'OPENAI_API_KEY = "{leaked}"\nBACKUP = "{elsewhere}"\n')
    report = tmp_path / "scan.json"
    scan = _keyguard("scan", "src", "--format", "json", "--output", str(report), env=_env(server), cwd=tmp_path)
    assert scan.returncode == 1, scan.stderr

    p = _keyguard("audit", "openai", "--report", str(report), "--format", "json",
                  env=_env(server, OPENAI_ADMIN_KEY=admin))
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    top = doc["findings"][0]
    assert (top["rule_id"], top["severity"], top["key"]["id"]) == ("leaked-key-in-account", "critical", "key_leaked")
    assert [(s["path"], s["line"], s["match"]) for s in top["leaked_in"]] == [("settings.py", 1, "redacted")]
    assert "settings.py:1" in top["reason"] and "not proof" in top["reason"]
    assert any("1 match a key listed here, 1 match none" in n for n in doc["notes"])

    text = _keyguard("audit", "openai", "--report", str(report), "--fail-on", "critical",
                     env=_env(server, OPENAI_ADMIN_KEY=admin))
    assert text.returncode == 1  # without the report the worst finding is high
    assert "CRITICAL  leaked key still listed: ci" in text.stdout
    for out in (p, text):
        assert admin not in out.stdout + out.stderr and leaked not in out.stdout + out.stderr


def test_sarif_with_leaked_key(account, tmp_path):
    server, admin, leaked, _ = account
    result = openai.audit(CredentialClient({openai.HOST: server.url}, min_interval=0), admin)
    scan = crossref.LeakedSecret("openai", "openai-project-key", "settings.py", 1,
                                 redact(leaked, ("sk-proj-",)), "0" * 64)
    crossref.apply(result, [scan], ("openai",))
    log = json.loads(render("sarif", result))
    jsonschema.validate(log, SARIF_SCHEMA)
    first = log["runs"][0]["results"][0]
    assert first["ruleId"] == "leaked-key-in-account"
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "openai://organization/projects/proj_a/api_keys/key_leaked"
    assert first["properties"]["leaked_in"][0]["path"] == "settings.py"
    assert len({r["partialFingerprints"]["keyguardAudit/v1"] for r in log["runs"][0]["results"]}) == 7
    assert admin not in json.dumps(log) and leaked not in json.dumps(log)


def test_rejected_or_missing_key_is_one_line_without_the_key(account, tmp_path):
    server, admin, _, _ = account
    # like the real API, the 401 body repeats part of the key; keyguard must not repeat it
    server.routes[("GET", "/v1/organization/projects")] = reply(401, {"error": {
        "message": f"Incorrect API key provided: {admin}.", "type": "invalid_request_error",
        "code": "invalid_api_key"}})
    p = _keyguard("audit", "openai", env=_env(server, OPENAI_ADMIN_KEY=admin))
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip() == ("Error: OpenAI rejected OPENAI_ADMIN_KEY (api.openai.com: HTTP 401 "
                                "invalid_api_key)")
    p = _keyguard("audit", "openai", env=_env(server))
    assert p.returncode == 2 and "OPENAI_ADMIN_KEY is not set" in p.stderr and "Traceback" not in p.stderr
    assert len(server.requests) == 1
    not_report = tmp_path / "x.json"
    not_report.write_text("[1, 2]")
    p = _keyguard("audit", "openai", "--report", str(not_report), env=_env(server, OPENAI_ADMIN_KEY=admin))
    assert p.returncode == 2 and "not a keyguard JSON scan report" in p.stderr
    p = _keyguard("audit", "openai", env={**_env(server, OPENAI_ADMIN_KEY=admin),
                                          "KEYGUARD_ENDPOINTS": "api.openai.com=https://203.0.113.9"})
    assert p.returncode == 2 and "only loopback" in p.stderr and admin not in p.stderr
    with pytest.raises(AuditError):
        openai.admin_key_from_environment({})


@pytest.mark.parametrize("hint, redacted, secret, expected", [
    ("sk-proj-abc...wxyz", "sk-proj-…wxyz", None, "redacted"),
    ("sk-proj-abc...wxyz", "sk-proj-…wxyQ", None, None),
    ("sk-proj-abc...wxyz", "sk-svcacct-…wxyz", None, None),  # another kind of key
    ("sk-admin...xyz", "sk-admin-…wxyz", None, "redacted"),  # a 3-character hint end
    ("sk-ant-api03-R2D...igAA", "sk-ant-…igAA", None, "redacted"),
    ("sk-abc...wxyz", "sk-proj-…wxyz", "sk-abcd-rest-of-it-wxyz", "secret"),  # --show-secrets report
    ("sk-abc...wxyz", "sk-proj-…wxyz", "sk-xyz-rest-of-it-wxyz", None),
    ("no hint here", "sk-proj-…wxyz", None, None),
])
def test_hint_matching(hint, redacted, secret, expected):
    leaked = crossref.LeakedSecret("openai", "openai-project-key", "a.py", 1, redacted, "0" * 64, secret)
    assert crossref.match(hint, leaked) == expected
