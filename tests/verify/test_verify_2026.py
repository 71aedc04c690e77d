"""Live checks for the 2026 shapes, each against a stand-in answering as the facts file says:
Google auth keys, xAI management keys, and the one-GET rows of the new providers."""
from __future__ import annotations

import pytest

from keyguard.ruleset import load_rules

from ..factories import key_for
from ..standin import StandIn, reply
from ..verify_support import check, client_for, no_key_in_urls

RULES = {r.id: r for r in load_rules()}
FLIP = str.maketrans("0123456789abcdef", "fedcba9876543210")
GEMINI = "generativelanguage.googleapis.com"
TOOLKIT = "www.googleapis.com"


def _google_error(status: int, code: str, message: str, reason: str) -> tuple:
    return reply(status, {"error": {"code": status, "message": message, "status": code, "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com",
         "metadata": {"service": GEMINI, "consumer": "projects/123456789012"}}]}})


def _google(rule_id: str, answer, toolkit=None):
    key = key_for(RULES[rule_id], 3)
    routes = {("GET", "/v1beta/models"): answer}
    if toolkit is not None:
        routes[("GET", "/identitytoolkit/v3/relyingparty/getProjectConfig")] = toolkit
    with StandIn(routes) as server:
        v = check("google", key, client_for(server, GEMINI, TOOLKIT), rule_id)
    return v, server, key


def test_auth_key_listing_models_is_live_with_generation_unknown_and_one_request():
    v, server, key = _google("google-auth-key", reply(200, {"models": [{"name": "models/gemini-2.5-flash"}]}))
    assert v.status == "live" and v.scope["key_type"] == "auth"
    assert any("whether it may generate is unknown" in r for r in v.reasons)
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1beta/models")]  # no second API
    assert server.requests[0].headers["x-goog-api-key"] == key and no_key_in_urls(server, key)


@pytest.mark.parametrize("answer", [
    _google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"),
    _google_error(401, "UNAUTHENTICATED", "API keys are not supported by this API.", "ACCESS_TOKEN_TYPE_UNSUPPORTED"),
])
def test_auth_key_refused_is_unknown_not_dead(answer):
    v, _, _ = _google("google-auth-key", answer)
    assert v.status == "unknown" and v.scope["key_type"] == "auth"


def test_standard_key_refused_by_the_cutoff_is_not_dead_and_may_still_bill_other_apis():
    v, server, _ = _google("google-api-key", _google_error(
        401, "UNAUTHENTICATED", "API keys are not supported by this API.", "ACCESS_TOKEN_TYPE_UNSUPPORTED"),
        toolkit=reply(200, {"projectId": "acme-maps", "authorizedDomains": ["acme.example"]}))
    assert v.scope["key_type"] == "standard"
    assert any("since September 2026" in r and "Maps" in r for r in v.reasons)
    assert v.status == "live" and v.restrictions["identity_toolkit_reachable"] is True  # alive elsewhere
    assert len(server.requests) == 2


def _xai(answer):
    key = key_for(RULES["xai-management-key"], 4)
    with StandIn({("GET", "/auth/teams/ffffffff-ffff-ffff-ffff-ffffffffffff/api-keys"): answer}) as server:
        v = check("xai", key, client_for(server, "management-api.x.ai"), "xai-management-key")
    return v, server, key


def test_xai_management_key_authenticated_for_a_team_not_its_own():
    v, server, key = _xai(reply(403, {"code": 7, "message": "Team mismatch", "details": []}))
    assert v.status == "live" and v.scope["kind"] == "management key"
    [sent] = server.requests
    assert sent.headers["authorization"] == f"Bearer {key}" and no_key_in_urls(server, key)


@pytest.mark.parametrize("answer, status", [
    (reply(401, {"code": 16, "message": "Invalid bearer token"}), "invalid"),
    (reply(403, {"code": 13, "message": "internal"}), "unknown"),
])
def test_xai_management_key_other_answers(answer, status):
    v, _, _ = _xai(answer)
    assert v.status == status


ROWS = [  # provider, rule, host, path, live body, what a live answer sets
    ("moonshot", "moonshot-api-key", "api.moonshot.ai", "/v1/models", {"object": "list", "data": []}, {}),
    ("minimax", "minimax-api-key", "api.minimax.io", "/v1/models", {"object": "list", "data": []}, {}),
    ("dashscope", "dashscope-api-key", "dashscope-intl.aliyuncs.com", "/compatible-mode/v1/models",
     {"object": "list", "data": [{"id": "qwen-plus"}]}, {}),
    ("vercel", "vercel-ai-gateway-key", "ai-gateway.vercel.sh", "/v1/credits",
     {"balance": "95.50", "total_used": "4.50"}, {"quota": {"balance": "95.50", "total_used": "4.50"}}),
    ("firecrawl", "firecrawl-api-key", "api.firecrawl.dev", "/v2/team/credit-usage",
     {"success": True, "data": {"remainingCredits": 1000, "planCredits": 500}},
     {"quota": {"remaining_credits": 1000, "plan_credits": 500}}),
]


@pytest.mark.parametrize("provider, rule_id, host, path, body, sets", ROWS, ids=[r[0] for r in ROWS])
def test_new_provider_rows_live_and_refused(provider, rule_id, host, path, body, sets):
    key = key_for(RULES[rule_id], 5)
    with StandIn({("GET", path): reply(200, body)}) as server:
        v = check(provider, key, client_for(server, host), rule_id)
    assert v.status == "live"
    for section, fields in sets.items():
        assert {k: getattr(v, section)[k] for k in fields} == fields
    [sent] = server.requests
    assert sent.headers["authorization"] == f"Bearer {key}" and no_key_in_urls(server, key)
    with StandIn({("GET", path): reply(401, {"error": {"message": "Invalid API key", "code": "invalid_api_key"}})}) as server:
        v = check(provider, key, client_for(server, host), rule_id)
    # none of these documents its 401 as proof of a dead key everywhere (region, host, docs)
    assert v.status == ("invalid" if provider == "minimax" else "unknown")


def test_cursor_key_by_basic_auth_never_in_the_url():
    import base64

    key = key_for(RULES["cursor-api-key"], 6)
    with StandIn({("GET", "/v0/me"): reply(200, {"userEmail": "dev@acme.example", "apiKeyName": "ci"})}) as server:
        v = check("cursor", key, client_for(server, "api.cursor.com"), "cursor-api-key")
    assert v.status == "live" and v.scope["user_email"] == "dev@acme.example"
    [sent] = server.requests
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    assert no_key_in_urls(server, key)
    for status in (401, 403):
        with StandIn({("GET", "/v0/me"): reply(status, {"error": "Unauthorized"})}) as server:
            v = check("cursor", key, client_for(server, "api.cursor.com"), "cursor-api-key")
        assert v.status == "invalid"


def test_langfuse_pair_by_basic_auth_and_nothing_sent_without_the_public_key():
    import base64

    secret = key_for(RULES["langfuse-secret-key"], 7)
    public = "pk-lf-" + secret[len("sk-lf-"):].translate(FLIP)  # another UUID
    route = ("GET", "/api/public/projects")
    with StandIn({route: reply(200, {"data": [{"id": "p1", "name": "prod"}]})}) as server:
        v = check("langfuse", secret, client_for(server, "cloud.langfuse.com"), "langfuse-secret-key",
                  langfuse_public_key=public)
    assert v.status == "live" and v.scope["projects"] == 1
    [sent] = server.requests
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(f"{public}:{secret}".encode()).decode()
    with StandIn({route: reply(401, {"message": "Invalid credentials"})}) as server:
        v = check("langfuse", secret, client_for(server, "cloud.langfuse.com"), "langfuse-secret-key",
                  langfuse_public_key=public)
    assert v.status == "unknown" and "another region" in v.reasons[0]
    with StandIn({route: reply(200, {"data": []})}) as server:
        v = check("langfuse", secret, client_for(server, "cloud.langfuse.com"), "langfuse-secret-key")
    assert v.status == "unknown" and server.requests == []


def test_langfuse_public_key_is_found_next_to_the_secret(tmp_path):
    from keyguard.detect.engine import Engine
    from keyguard.model import ScanText, Stats
    from keyguard.verify.context import context_for

    secret = key_for(RULES["langfuse-secret-key"], 8)
    public = "pk-lf-" + secret[len("sk-lf-"):].translate(FLIP)
    path = tmp_path / ".env"
    path.write_text(f"LANGFUSE_PUBLIC_KEY={public}\nLANGFUSE_SECRET_KEY={secret}\n")
    findings = Engine(list(RULES.values())).scan(ScanText(path.read_text(), str(path), str(path)), Stats())
    [f] = [f for f in findings if f.rule.id == "langfuse-secret-key"]
    assert context_for(f, findings).companions == {"langfuse_public_key": public}


@pytest.mark.parametrize("rule_id, path, body", [
    ("devin-personal-api-key", "/v1/sessions", {"sessions": []}),
    ("devin-service-api-key", "/v1/sessions", {"sessions": [{"session_id": "devin-1"}]}),
    ("devin-service-user-token", "/v3/self", {"principal_type": "service_user", "service_user_id": "su-1"}),
])
def test_devin_keys_each_to_its_endpoint(rule_id, path, body):
    key = key_for(RULES[rule_id], 9)
    with StandIn({("GET", path): reply(200, body)}) as server:
        v = check("devin", key, client_for(server, "api.devin.ai"), rule_id)
    assert v.status == "live"
    [sent] = server.requests
    assert sent.path.split("?")[0] == path and sent.headers["authorization"] == f"Bearer {key}"
    with StandIn({("GET", path): reply(401, {"detail": "Unauthorized"})}) as server:
        v = check("devin", key, client_for(server, "api.devin.ai"), rule_id)
    assert v.status == "unknown"


def test_auth_key_in_a_browser_bundle_stays_critical_whatever_restriction_the_check_finds(tmp_path):
    """A restriction lowers a key's severity, but not a Google auth key's a browser receives: it acts
    as its service account whatever its restrictions. In server code the restriction still counts."""
    import json
    import os

    from ..helpers import keyguard, write

    auth = key_for(RULES["google-auth-key"], 4)
    write(tmp_path / "dist" / "assets" / "index-9a.js", f'const k="{auth}";\n')
    write(tmp_path / ".env.production", f"VITE_GEMINI_API_KEY={auth}\n")
    write(tmp_path / "server" / "gemini.py", f'GEMINI_API_KEY = "{auth}"\n')
    blocked = _google_error(403, "PERMISSION_DENIED", "Requests to this API are blocked.", "API_KEY_SERVICE_BLOCKED")
    with StandIn({("GET", "/v1beta/models"): blocked}) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYGUARD_")}
        env["KEYGUARD_ENDPOINTS"] = f"{GEMINI}={server.url}"
        p = keyguard("scan", ".", "--no-config", "--verify", "--format", "json", cwd=tmp_path, env=env)
    assert p.returncode == 1, p.stderr
    found = {f["path"]: f for f in json.loads(p.stdout)["findings"]}
    assert {path: f["verification"]["status"] for path, f in found.items()} == dict.fromkeys(found, "live")
    assert {path: f["severity"] for path, f in found.items()} == {
        "dist/assets/index-9a.js": "critical", ".env.production": "critical", "server/gemini.py": "medium"}
