"""Every provider's verifier against a stand-in answering as the facts file documents."""
from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from ..standin import StandIn, reply, slow
from .test_verify_answers import TABLE
from ..verify_support import check, client_for, fake, no_key_in_urls

# provider, host, method, path, header carrying the key (value template), invalid status
PROVIDERS = [
    ("openai", "api.openai.com", "GET", "/v1/models", "authorization", "Bearer {}", 401),
    ("anthropic", "api.anthropic.com", "GET", "/v1/models", "x-api-key", "{}", 401),
    ("huggingface", "huggingface.co", "GET", "/api/whoami-v2", "authorization", "Bearer {}", 401),
    ("groq", "api.groq.com", "GET", "/openai/v1/models", "authorization", "Bearer {}", 401),
    ("xai", "api.x.ai", "GET", "/v1/api-key", "authorization", "Bearer {}", 400),
    ("deepseek", "api.deepseek.com", "GET", "/user/balance", "authorization", "Bearer {}", 401),
    ("openrouter", "openrouter.ai", "GET", "/api/v1/key", "authorization", "Bearer {}", 401),
    ("replicate", "api.replicate.com", "GET", "/v1/account", "authorization", "Bearer {}", 401),
    ("together", "api.together.xyz", "GET", "/v1/models", "authorization", "Bearer {}", 401),
    ("fireworks", "api.fireworks.ai", "GET", "/v1/accounts", "authorization", "Bearer {}", 401),
    ("mistral", "api.mistral.ai", "GET", "/v1/models", "authorization", "Bearer {}", 401),
    ("cohere", "api.cohere.com", "POST", "/v1/check-api-key", "authorization", "Bearer {}", 401),
    ("elevenlabs", "api.elevenlabs.io", "GET", "/v1/user", "xi-api-key", "{}", 401),
    ("stability", "api.stability.ai", "GET", "/v1/user/account", "authorization", "Bearer {}", 401),
    ("voyage", "api.voyageai.com", "GET", "/v1/files", "authorization", "Bearer {}", 401),
    ("langsmith", "api.smith.langchain.com", "GET", "/api/v1/api-key", "x-api-key", "{}", 401),
    ("pinecone", "api.pinecone.io", "GET", "/indexes", "api-key", "{}", 401),
    ("deepgram", "api.deepgram.com", "GET", "/v1/auth/token", "authorization", "Token {}", 401),
    ("assemblyai", "api.assemblyai.com", "GET", "/v2/transcript", "authorization", "{}", 401),
    ("cerebras", "api.cerebras.ai", "GET", "/v1/models", "authorization", "Bearer {}", 401),
    ("github", "api.github.com", "GET", "/user", "authorization", "token {}", 401),
]
GENERATION = ("/chat/completions", "/completions", "/messages", "generateContent", "/predictions",
              "/text-to-speech", "/embeddings")


def _documented(provider: str, scenario: str) -> dict:
    return next(c[2] for c in TABLE[provider] if c[0].startswith(scenario))


@pytest.mark.parametrize("provider,host,method,path,header,template,bad", PROVIDERS,
                         ids=[p[0] for p in PROVIDERS])
def test_live_invalid_and_what_was_sent(provider, host, method, path, header, template, bad):
    """With that provider's documented bodies: what goes out, and the two verdicts that matter."""
    key = fake(provider)
    with StandIn(_documented(provider, "live")) as server:
        live = check(provider, key, client_for(server, host))
    invalid_routes = _documented(provider, "invalid")
    assert next(iter(invalid_routes.values()))[0] == bad
    with StandIn(invalid_routes) as bad_server:
        invalid = check(provider, key, client_for(bad_server, host))
    assert live.status == "live", live.reasons
    assert invalid.status == "invalid", invalid.reasons
    assert key not in json.dumps(invalid.as_dict()) and key not in json.dumps(live.as_dict())
    sent = server.requests[0]
    assert (sent.method, sent.path.split("?")[0]) == (method, path)
    assert sent.headers[header] == template.format(key)
    assert no_key_in_urls(server, key)
    assert not any(g in r.path for r in server.requests for g in GENERATION)


@pytest.mark.parametrize("provider,host,method,path", [(p[0], p[1], p[2], p[3]) for p in PROVIDERS[:6]])
def test_slow_and_failing_providers_are_errors(provider, host, method, path):
    key = fake(provider)
    with StandIn({(method, path): slow(1.5, reply(200, {}))}) as server:
        assert check(provider, key, client_for(server, host, timeout=0.3)).status == "error"
    with StandIn({(method, path): reply(502, "bad gateway")}) as server:
        assert check(provider, key, client_for(server, host)).status == "error"
    assert len(server.requests) == 2  # one retry


def test_429_without_a_documented_meaning_is_unknown():
    key = fake("groq")
    with StandIn({("GET", "/openai/v1/models"): reply(429, {}, {"retry-after": "0"})}) as server:
        v = check("groq", key, client_for(server, "api.groq.com"))
    assert v.status == "unknown" and v.quota["rate_limit"]["retry-after"] == "0"


def test_openai_restricted_key_missing_scopes_and_ratelimit_headers():
    key = fake("openai")
    body = {"error": {"message": "You have insufficient permissions for this operation. Missing scopes: "
                      "model.read. Check that you have the correct role.", "type": "invalid_request_error"}}
    with StandIn({("GET", "/v1/models"): reply(401, body, {"x-ratelimit-limit-requests": "500"})}) as server:
        v = check("openai", key, client_for(server, "api.openai.com"))
    assert v.status == "live" and v.scope["missing_scopes"] == ["model.read"]
    assert v.scope["kind"] == "project" and v.quota["rate_limit"]["x-ratelimit-limit-requests"] == "500"


def test_openai_insufficient_quota_is_live_and_exhausted():
    body = {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
                      "code": "insufficient_quota"}}
    with StandIn({("GET", "/v1/models"): reply(429, body)}) as server:
        v = check("openai", fake("openai"), client_for(server, "api.openai.com"))
    assert v.status == "live" and v.quota["exhausted"] == "insufficient_quota"


def test_openai_admin_key_uses_admin_endpoint_and_is_critical():
    key = fake("openai-admin")
    with StandIn({("GET", "/v1/organization/admin_api_keys"): reply(200, {"data": []})}) as server:
        v = check("openai", key, client_for(server, "api.openai.com"), "openai-admin-key")
    assert server.requests[0].path.startswith("/v1/organization/admin_api_keys")
    assert v.status == "live" and v.severity == "critical" and v.scope["kind"] == "admin"


def test_anthropic_admin_key_reads_organization():
    key = fake("anthropic-admin")
    with StandIn({("GET", "/v1/organizations/me"): reply(200, {"id": "org-1", "name": "Acme"})}) as server:
        v = check("anthropic", key, client_for(server, "api.anthropic.com"), "anthropic-admin-key")
    assert v.severity == "critical" and v.scope["organization_name"] == "Acme"
    assert server.requests[0].headers["anthropic-version"] == "2023-06-01"


def test_huggingface_fine_grained_scopes():
    body = {"name": "alice", "type": "user", "orgs": [{"name": "acme", "roleInOrg": "admin"}],
            "auth": {"accessToken": {"role": "fineGrained", "fineGrained": {"scoped": [
                {"entity": {"type": "model", "name": "acme/m", "_id": "1"},
                 "permissions": ["repo.content.read"]}], "global": []}}}}
    with StandIn({("GET", "/api/whoami-v2"): reply(200, body)}) as server:
        v = check("huggingface", fake("huggingface"), client_for(server, "huggingface.co"))
    assert v.scope["role"] == "fineGrained" and v.scope["scoped"][0]["permissions"] == ["repo.content.read"]
    assert v.scope["orgs"] == [{"name": "acme", "role": "admin"}] and v.severity == "medium"
    assert v.scope["kind"] == "user access token"
    with StandIn({("GET", "/api/whoami-v2"): reply(200, {"name": "acme", "type": "org"})}) as server:
        org = check("huggingface", "api_org_" + fake("huggingface")[3:], client_for(server, "huggingface.co"))
    assert org.scope["kind"] == "organization API token (deprecated)" and org.scope["account_type"] == "org"


def test_huggingface_expired_token():
    with StandIn({("GET", "/api/whoami-v2"): reply(401, {"error": "Token has expired"})}) as server:
        v = check("huggingface", fake("huggingface"), client_for(server, "huggingface.co"))
    assert v.status == "invalid" and "expired" in " ".join(v.reasons)


def test_xai_acls_and_blocked_flag():
    body = {"name": "k", "acls": ["api-key:model:*"], "api_key_blocked": False,
            "api_key_disabled": True, "team_blocked": False, "team_id": "t1"}
    with StandIn({("GET", "/v1/api-key"): reply(200, body)}) as server:
        v = check("xai", fake("xai"), client_for(server, "api.x.ai"))
    assert v.status == "invalid" and v.scope["acls"] == ["api-key:model:*"]
    assert v.restrictions["api_key_disabled"] is True


def test_deepseek_balance_and_402():
    body = {"is_available": True, "balance_infos": [{"currency": "USD", "total_balance": "4.20",
                                                    "granted_balance": "0", "topped_up_balance": "4.20"}]}
    with StandIn({("GET", "/user/balance"): reply(200, body)}) as server:
        v = check("deepseek", fake("deepseek"), client_for(server, "api.deepseek.com"))
    assert v.quota["balance"][0]["total_balance"] == "4.20"
    with StandIn({("GET", "/user/balance"): reply(402, {"error": {"message": "Insufficient Balance"}})}) as server:
        v = check("deepseek", fake("deepseek"), client_for(server, "api.deepseek.com"))
    assert v.status == "live" and v.quota["insufficient_balance"] is True


@pytest.mark.parametrize("data,severity", [
    ({"limit": None, "usage": 12.5, "is_free_tier": False}, "critical"),
    ({"limit": 10, "limit_remaining": 2, "usage": 8, "is_free_tier": False}, None),
    ({"limit": None, "usage": 0, "is_management_key": True}, "critical"),
])
def test_openrouter_limits(data, severity):
    with StandIn({("GET", "/api/v1/key"): reply(200, {"data": data})}) as server:
        v = check("openrouter", fake("openrouter"), client_for(server, "openrouter.ai"))
    assert v.status == "live" and v.severity == severity and v.quota["usage"] == data["usage"]


def test_elevenlabs_missing_permissions_and_quota():
    with StandIn({("GET", "/v1/user"): reply(401, {"detail": {"status": "missing_permissions",
                                                              "message": "lacks user_read"}})}) as server:
        v = check("elevenlabs", fake("elevenlabs"), client_for(server, "api.elevenlabs.io"))
    assert v.status == "live" and v.scope["user_read"] is False
    body = {"subscription": {"character_count": 10, "character_limit": 10000, "tier": "free"}}
    with StandIn({("GET", "/v1/user"): reply(200, body)}) as server:
        v = check("elevenlabs", fake("elevenlabs"), client_for(server, "api.elevenlabs.io"))
    assert v.quota == {"character_count": 10, "character_limit": 10000, "tier": "free"}
    with StandIn({("GET", "/v1/user"): reply(401, {"detail": {"status": "invalid_api_key"}})}) as server:
        assert check("elevenlabs", fake("elevenlabs"), client_for(server, "api.elevenlabs.io")).status == "invalid"


def test_stability_credits():
    with StandIn({("GET", "/v1/user/account"): reply(200, {"id": "u", "organizations": [{"id": "org-9"}]}),
                  ("GET", "/v1/user/balance"): reply(200, {"credits": 41.5})}) as server:
        v = check("stability", fake("stability"), client_for(server, "api.stability.ai"))
    assert v.quota["credits"] == 41.5 and v.scope["organizations"] == ["org-9"]


def test_voyage_and_pinecone_403_mean_valid_but_limited():
    with StandIn({("GET", "/v1/files"): reply(403, {"detail": "forbidden"})}) as server:
        v = check("voyage", fake("voyage"), client_for(server, "api.voyageai.com"))
    assert v.status == "live" and v.scope["files_access"] is False
    with StandIn({("GET", "/indexes"): reply(403, {"error": {"message": "forbidden"}})}) as server:
        v = check("pinecone", fake("pinecone"), client_for(server, "api.pinecone.io"))
    assert v.status == "live" and v.scope["role"] == "restricted"
    assert server.requests[0].headers["x-pinecone-api-version"] == "2025-10"


def test_perplexity_posts_only_an_invalid_model():
    key = fake("perplexity")
    with StandIn({("POST", "/chat/completions"): reply(400, {"error": {"message": "Invalid model"}})}) as server:
        v = check("perplexity", key, client_for(server, "api.perplexity.ai"))
    assert v.status == "live"
    sent = json.loads(server.requests[0].body)
    assert sent["model"] == "invalid-model-for-validation"
    assert server.requests[0].headers["authorization"] == f"Bearer {key}"
    with StandIn({("POST", "/chat/completions"): reply(401, {})}) as server:
        assert check("perplexity", key, client_for(server, "api.perplexity.ai")).status == "invalid"


def test_cohere_check_api_key_body():
    with StandIn({("POST", "/v1/check-api-key"): reply(200, {"valid": True, "organization_id": "o1",
                                                             "owner_id": "u1"})}) as server:
        v = check("cohere", fake("cohere"), client_for(server, "api.cohere.com"))
    assert v.status == "live" and v.scope == {"organization_id": "o1", "owner_id": "u1"}
    assert server.requests[0].body == b""
    with StandIn({("POST", "/v1/check-api-key"): reply(200, {"valid": False})}) as server:
        assert check("cohere", fake("cohere"), client_for(server, "api.cohere.com")).status == "invalid"


def test_nvidia_key_travels_in_form_body():
    key = fake("nvidia")
    with StandIn({("POST", "/v3/keys/get-caller-info"): reply(200, {})}) as server:
        v = check("nvidia", key, client_for(server, "api.ngc.nvidia.com"))
    assert v.status == "live" and no_key_in_urls(server, key)
    assert parse_qs(server.requests[0].body.decode()) == {"credentials": [key]}
    with StandIn({("POST", "/v3/keys/get-caller-info"): reply(401, {})}) as server:
        assert check("nvidia", key, client_for(server, "api.ngc.nvidia.com")).status == "invalid"


def test_github_scopes_and_expiry():
    headers = {"X-OAuth-Scopes": "repo, read:org", "github-authentication-token-expiration": "2027-01-01",
               "x-ratelimit-remaining": "4999"}
    with StandIn({("GET", "/user"): reply(200, {"login": "octo", "type": "User"}, headers)}) as server:
        v = check("github", fake("github"), client_for(server, "api.github.com"))
    assert v.scope["oauth_scopes"] == ["repo", "read:org"] and v.scope["login"] == "octo"
    assert v.quota["rate_limit"]["x-ratelimit-remaining"] == "4999"


def test_fireworks_412_is_unknown_and_langsmith_kind():
    with StandIn({("GET", "/v1/accounts"): reply(412, {"code": "PRECONDITION_FAILED"})}) as server:
        v = check("fireworks", fake("fireworks"), client_for(server, "api.fireworks.ai"))
    assert v.status == "unknown" and "412" in v.reasons[0]
    with StandIn({("GET", "/api/v1/api-key"): reply(200, [])}) as server:
        v = check("langsmith", fake("langsmith"), client_for(server, "api.smith.langchain.com"))
    assert v.status == "live" and v.scope["kind"].startswith("personal access token")
    assert not any(r.method == "POST" for r in server.requests)


def test_github_installation_token_uses_rate_limit_and_refresh_token_is_not_sent():
    installation, refresh = "ghs_" + fake("github")[4:], "ghr_" + fake("github", 2)[4:]
    with StandIn({("GET", "/rate_limit"): reply(200, {"resources": {}}, {"x-ratelimit-remaining": "4999"}),
                  ("GET", "/user"): reply(403, {"message": "Resource not accessible by integration"})}) as server:
        client = client_for(server, "api.github.com")
        v = check("github", installation, client)
        r = check("github", refresh, client)
    assert [req.path for req in server.requests] == ["/rate_limit"]
    assert server.requests[0].headers["authorization"] == f"token {installation}"
    assert v.status == "live" and v.scope["kind"] == "GitHub App installation token"
    assert r.status == "unknown" and r.scope["kind"] == "refresh token" and "liveness" in r.unknown


# Every check whose provider does not document a 403 as a bad-key answer (all but Anthropic,
# Voyage and Pinecone, where a 403 is a live key without a permission): (provider, host, method, path)
NO_DOCUMENTED_403 = [(p[0], p[1], p[2], p[3]) for p in PROVIDERS if p[0] not in ("anthropic", "voyage", "pinecone")] + [
    ("perplexity", "api.perplexity.ai", "POST", "/chat/completions"),
    ("nvidia", "api.ngc.nvidia.com", "POST", "/v3/keys/get-caller-info"),
    ("tavily", "api.tavily.com", "GET", "/usage"),
    ("langsmith-sk", "api.smith.langchain.com", "GET", "/api/v1/orgs/current"),
]
EVERY_CHECK = [(p[0], p[1], p[2], p[3]) for p in PROVIDERS] + NO_DOCUMENTED_403[-4:]


def _run(kind: str, host: str, routes: dict):
    provider = "langsmith" if kind == "langsmith-sk" else kind
    with StandIn(routes) as server:
        return check(provider, fake(kind), client_for(server, host), f"{kind}-key")


@pytest.mark.parametrize("kind,host,method,path", NO_DOCUMENTED_403, ids=[p[0] for p in NO_DOCUMENTED_403])
def test_an_undocumented_403_is_unknown_not_invalid(kind, host, method, path):
    v = _run(kind, host, {(method, path): reply(403, {"error": {
        "message": "Country, region, or territory not supported", "code": "unsupported"}})})
    assert v.status == "unknown", v.reasons
    assert v.evidence["http_status"] == 403


@pytest.mark.parametrize("kind,host,method,path", EVERY_CHECK, ids=[p[0] for p in EVERY_CHECK])
@pytest.mark.parametrize("status", [200, 401, 403])
def test_a_web_page_from_a_proxy_is_never_a_verdict(kind, host, method, path, status):
    if kind == "perplexity" and status == 401:
        pytest.skip("Perplexity's own 401 is an HTML page (its documented bad-key answer)")
    page = "<!DOCTYPE html><html><body><h1>Access denied by the corporate proxy</h1></body></html>"
    v = _run(kind, host, {(method, path): reply(status, page, {"Content-Type": "text/html"}),
                          ("GET", "*"): reply(status, page, {"Content-Type": "text/html"})})
    assert v.status == "unknown", v.reasons
    assert "web page" in " ".join(v.reasons) or "JSON" in " ".join(v.reasons)


@pytest.mark.parametrize("kind,host,method,path", EVERY_CHECK, ids=[p[0] for p in EVERY_CHECK])
@pytest.mark.parametrize("body", [[{"data": 1}], "just text", {"data": "not a list", "accounts": 3,
                                                              "auth": [], "key": 1, "user": "x"}])
def test_a_body_of_another_shape_is_read_safely(kind, host, method, path, body):
    """Never an error, never a traceback: a live answer of another shape is live or unknown."""
    v = _run(kind, host, {(method, path): reply(200, body), ("GET", "*"): reply(200, body),
                          ("POST", "*"): reply(400, body)})
    assert v.status in ("live", "unknown") and v.reasons


def test_stability_balance_as_a_list_leaves_credits_unknown_not_the_verdict():
    with StandIn({("GET", "/v1/user/account"): reply(200, {"id": "u", "organizations": []}),
                  ("GET", "/v1/user/balance"): reply(200, [{"credits": 3}])}) as server:
        v = check("stability", fake("stability"), client_for(server, "api.stability.ai"))
    assert v.status == "live" and "credits" not in v.quota
    assert any(u.startswith("credits (the balance call answered a JSON list") for u in v.unknown)


def test_xai_spent_team_is_live_and_exhausted():
    body = {"code": "The caller does not have permission to execute the specified operation",
            "error": "Your team t-1 has either used all available credits or reached its monthly spending "
                     "limit. To continue making API requests, please purchase more credits or raise your "
                     "spending limit."}
    with StandIn({("GET", "/v1/api-key"): reply(403, body)}) as server:
        v = check("xai", fake("xai"), client_for(server, "api.x.ai"))
    assert v.status == "live" and v.quota["exhausted"] == "team credits or monthly spending limit"


def test_langsmith_service_key_uses_the_org_endpoint_and_a_403_is_not_dead():
    key = fake("langsmith-sk")
    with StandIn({("GET", "/api/v1/orgs/current"): reply(200, {"id": "o-1", "display_name": "Acme",
                                                               "is_personal": False}),
                  ("GET", "/api/v1/api-key"): reply(403, {"detail": "Forbidden"})}) as server:
        v = check("langsmith", key, client_for(server, "api.smith.langchain.com"))
    assert [r.path for r in server.requests] == ["/api/v1/orgs/current"]
    assert v.status == "live" and v.scope["organization_name"] == "Acme"
    with StandIn({("GET", "*"): reply(403, {"detail": "Forbidden"})}) as server:
        v = check("langsmith", key, client_for(server, "api.smith.langchain.com"))
    assert v.status == "unknown"


@pytest.mark.parametrize("code", ["project_spend_limit_exceeded", "organization_spend_limit_exceeded"])
def test_openai_spend_limits_are_live_and_exhausted(code):
    body = {"error": {"message": "You have exceeded your spend limit.", "type": "insufficient_quota",
                      "param": None, "code": code}}
    with StandIn({("GET", "/v1/models"): reply(429, body)}) as server:
        v = check("openai", fake("openai"), client_for(server, "api.openai.com"))
    assert v.status == "live" and v.quota["exhausted"] == code


def test_openrouter_402_is_live_and_exhausted():
    with StandIn({("GET", "/api/v1/key"): reply(402, {"error": {"code": 402, "message": "Insufficient credits"}})}) as server:
        v = check("openrouter", fake("openrouter"), client_for(server, "api.openrouter.ai"[4:]))
    assert v.status == "live" and v.quota["exhausted"] == "credits"


def test_429_with_a_long_retry_after_is_not_waited_for():
    body = {"error": {"message": "Rate limit reached", "type": "requests"}}
    with StandIn({("GET", "/v1/models"): reply(429, body, {"retry-after": "120"})}) as server:
        v = check("openai", fake("openai"), client_for(server, "api.openai.com"))
    assert len(server.requests) == 1  # keyguard waits at most 10 s for one retry
    assert v.status == "unknown" and "retry after 120 s" in v.reasons[0]
    assert v.quota["rate_limit"]["retry-after"] == "120" and v.evidence["http_status"] == 429
