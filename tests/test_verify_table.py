"""docs/live-checks.md is made from the code, and the code does what the table says.

Each verifier module declares a ``CHECK``; tests/verify_support.check holds every verdict to it
(no undeclared field, every declared unknown listed). Here: the doc equals the generated table,
every declared field is produced by some answer the facts file documents, and the policy holds
in the code itself (the only POSTs are the three safe ones, each with its reason).
"""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from keyguard.verify import check_of, names
from keyguard.verify.registry import BY_NAME, REGISTRY
from keyguard.verify.table import render

from .standin import StandIn, reply
from .test_verify_aws import OK_XML, key_id_for_account, sts
from .verify_support import check, client_for, fake

ROOT = Path(__file__).resolve().parent.parent
VERIFY = ROOT / "keyguard" / "verify"
SAFE_POSTS = {"cohere", "nvidia", "perplexity"}
GENERATION = re.compile(r"(?<!check-api-key)/(?:chat/)?completions|/messages\b|generateContent|"
                        r"/predictions|/text-to-speech|/embeddings|/images/|/audio/")


def test_docs_table_is_generated_from_the_code():
    doc = (ROOT / "docs" / "live-checks.md").read_text(encoding="utf-8")
    assert doc == render(), "regenerate: python -m keyguard.verify.table > docs/live-checks.md"
    assert "docs/live-checks.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_one_registry_names_every_check_once():
    """Each check is registered once: a data row, or exactly one module with ``verify``."""
    on_disk = {p.stem for p in VERIFY.glob("*.py")
               if "def verify(" in p.read_text(encoding="utf-8")} - {"simple"}  # runs the rows
    modules = {e.name for e in REGISTRY if e.row is None}
    assert on_disk == modules
    assert len({e.name for e in REGISTRY}) == len(REGISTRY)
    aliases = [a for e in REGISTRY for a in e.aliases]
    assert len(aliases) == len(set(aliases))
    assert set(names()) == {e.name for e in REGISTRY} - {"google"}  # google only dispatches
    assert not any("CHECK =" in (VERIFY / f"{e.name}.py").read_text(encoding="utf-8")
                   for e in REGISTRY if e.row is not None and (VERIFY / f"{e.name}.py").exists())


def _hosts(module: str) -> tuple[str, ...]:
    row = BY_NAME[module].row
    if row is not None:
        return (row.host,)
    code = importlib.import_module(f"keyguard.verify.{module}")
    return tuple(h for h in (getattr(code, "HOST", None), *getattr(code, "OTHER_HOSTS", ())) if h)


@pytest.mark.parametrize("module", names())
def test_requests_go_to_the_modules_fixed_host_and_only_safe_posts(module):
    declared = check_of(module)
    for request in declared.requests:
        method, _, target = request.partition(" ")
        assert method in ("GET", "POST")
        assert target.startswith(_hosts(module) or ("<resource>.openai.azure.com",)), request
        assert not GENERATION.search(target) or module == "perplexity", request
    if BY_NAME[module].row is not None:
        assert all(r.startswith("GET ") for r in declared.requests)
        return
    source = (VERIFY / f"{module}.py").read_text(encoding="utf-8")
    posts = [n for n in ast.walk(ast.parse(source))
             if isinstance(n, ast.Constant) and n.value == "POST"]
    if module in SAFE_POSTS:
        assert posts and "Why this POST is safe" in source
        assert all(r.startswith("POST ") for r in declared.requests)
    else:
        assert not posts and all(r.startswith("GET ") for r in declared.requests)


# For each module: the answers the facts file documents (route -> reply), a key, companions.
RL = {"x-ratelimit-limit-requests": "100"}


def _scenarios() -> dict[str, list[tuple[str, dict, dict]]]:
    ok = lambda body=None: reply(200, {"data": []} if body is None else body, RL)  # noqa: E731
    hf_body = {"name": "alice", "type": "user", "isPro": False, "canPay": True, "billingMode": "prepaid",
               "orgs": [{"name": "acme", "roleInOrg": "admin"}],
               "auth": {"accessToken": {"role": "fineGrained", "fineGrained": {
                   "scoped": [{"entity": {"type": "model", "name": "acme/m"}, "permissions": ["repo.write"]}],
                   "global": ["inference.serverless.write"]}}}}
    google_error = lambda status, reason, consumer="projects/123456789012", msg="blocked": reply(  # noqa: E731
        status, {"error": {"code": status, "message": msg, "details": [
            {"reason": reason, "metadata": {"consumer": consumer}}]}})
    return {
        "openai": [("openai", {("GET", "/v1/models"): ok()}, {}),
                   ("openai", {("GET", "/v1/models"): reply(401, {"error": {
                       "message": "You have insufficient permissions for this operation. Missing scopes: "
                                  "model.read."}})}, {}),
                   ("openai", {("GET", "/v1/models"): reply(429, {"error": {"type": "insufficient_quota"}})},
                    {})],
        "anthropic": [("anthropic-admin", {("GET", "/v1/organizations/me"): ok({"id": "o", "name": "n"})}, {})],
        "google_api_key": [("google", {("GET", "/v1beta/models"): reply(200, {"models": []})}, {}),
                           ("google", {("GET", "/v1beta/models"): google_error(403, "API_KEY_HTTP_REFERRER_BLOCKED")}, {}),
                           ("google", {("GET", "/v1beta/models"): google_error(429, "RATE_LIMIT_EXCEEDED")}, {}),
                           ("google", {("GET", "/v1beta/models"): reply(403, {"error": {
                               "code": 403, "message": "Your API key was reported as leaked."}})}, {})],
        "google_service_account": [("sa", {("GET", "*"): reply(200, {"f" * 40: "cert"})}, {
            "client_email": "ci@acme-prod-1.iam.gserviceaccount.com", "private_key_id": "0" * 40,
            "project_id": "acme-prod-1"})],
        "huggingface": [("huggingface", {("GET", "/api/whoami-v2"): ok(hf_body)}, {})],
        "groq": [("groq", {("GET", "/openai/v1/models"): ok()}, {})],
        "xai": [("xai", {("GET", "/v1/api-key"): ok({"name": "k", "acls": ["api-key:model:*"], "team_id": "t",
                                                     "user_id": "u", "api_key_blocked": False,
                                                     "api_key_disabled": False, "team_blocked": False})}, {})],
        "deepseek": [("deepseek", {("GET", "/user/balance"): ok({"is_available": True, "balance_infos": [
                         {"currency": "USD", "total_balance": "1"}]})}, {}),
                     ("deepseek", {("GET", "/user/balance"): reply(402, {"error": {"message": "Insufficient Balance"}})},
                      {})],
        "openrouter": [("openrouter", {("GET", "/api/v1/key"): ok({"data": {
            "label": "l", "limit": None, "limit_remaining": None, "limit_reset": None, "usage": 1,
            "usage_daily": 1, "usage_weekly": 1, "usage_monthly": 1, "is_free_tier": False,
            "expires_at": None, "is_management_key": False}})}, {})],
        "replicate": [("replicate", {("GET", "/v1/account"): ok({"type": "user", "username": "u"})}, {})],
        "together": [("together", {("GET", "/v1/models"): ok()}, {})],
        "perplexity": [("perplexity", {("POST", "/chat/completions"): reply(400, {}, RL)}, {})],
        "fireworks": [("fireworks", {("GET", "/v1/accounts"): ok({"accounts": [{"name": "accounts/a"}]})}, {})],
        "mistral": [("mistral", {("GET", "/v1/models"): ok()}, {})],
        "cohere": [("cohere", {("POST", "/v1/check-api-key"): ok({"valid": True, "organization_id": "o",
                                                                  "owner_id": "u"})}, {})],
        "azure_openai": [("azure-openai", {("GET", "/openai/models"): reply(
            403, {"error": {"message": "Access denied due to Virtual Network/Firewall rules."}}, RL)},
            {"azure_host": "acme.openai.azure.com"})],
        "aws": [("aws-root", {}, {}), ("aws-canary", {}, {})],
        "elevenlabs": [("elevenlabs", {("GET", "/v1/user"): ok({"subscription": {
            "character_count": 1, "character_limit": 2, "next_character_count_reset_unix": 3, "tier": "free",
            "status": "active"}})}, {}),
            ("elevenlabs", {("GET", "/v1/user"): reply(401, {"detail": {"status": "missing_permissions"}})}, {})],
        "stability": [("stability", {("GET", "/v1/user/account"): ok({"organizations": [{"id": "o"}]}),
                                     ("GET", "/v1/user/balance"): reply(200, {"credits": 5})}, {})],
        "voyage": [("voyage", {("GET", "/v1/files"): ok()}, {})],
        "langsmith": [("langsmith", {("GET", "/api/v1/api-key"): ok([])}, {})],
        "pinecone": [("pinecone", {("GET", "/indexes"): ok({"indexes": []})}, {}),
                     ("pinecone", {("GET", "/indexes"): reply(403, {})}, {})],
        "deepgram": [("deepgram", {("GET", "/v1/auth/token"): ok({})}, {})],
        "assemblyai": [("assemblyai", {("GET", "/v2/transcript"): ok({})}, {})],
        "cerebras": [("cerebras", {("GET", "/v1/models"): ok()}, {})],
        "nvidia": [("nvidia", {("POST", "/v3/keys/get-caller-info"): ok({})}, {})],
        "tavily": [("tavily", {("GET", "/usage"): ok({"key": {"usage": 150, "limit": None}, "account": {
            "current_plan": "Researcher", "plan_usage": 500, "plan_limit": 1000}})}, {})],
        "github": [("github", {("GET", "/user"): reply(200, {"login": "o", "type": "User"}, {
            **RL, "X-OAuth-Scopes": "repo", "github-authentication-token-expiration": "2030-01-01"})}, {})],
    }


def _run(module: str, kind: str, routes: dict, companions: dict):
    declared = check_of(module)
    provider = {"google_api_key": "google", "google_service_account": "google",
                "azure_openai": "azure-openai"}.get(module, module)
    if kind.startswith("aws"):
        account = "052310077262" if kind == "aws-canary" else "123456789012"
        key_id, secret = key_id_for_account(account), fake("aws-secret")
        root = OK_XML.format(account=account).replace("user/ci", "root")
        handler = sts(secret, key_id, account)
        routes = {("GET", "/"): lambda r: (lambda a: a if a[0] != 200 else reply(200, root))(handler(r))}
        with StandIn(routes) as server:
            return check("aws", key_id, client_for(server, "sts.amazonaws.com"), aws_secret=secret)
    host = companions.get("azure_host") or _hosts(module)[0]
    secret = "-----BEGIN PRIVATE KEY-----x" if kind == "sa" else fake(kind)
    rule_id = f"{kind}-key" if kind != "sa" else "google-service-account"
    assert declared
    with StandIn(routes) as server:
        return check(provider, secret, client_for(server, host), rule_id, **companions)


@pytest.mark.parametrize("module", names())
def test_every_declared_field_is_read_from_a_documented_answer(module):
    produced: dict[str, set[str]] = {"restrictions": set(), "quota": set(), "scope": set()}
    for kind, routes, companions in _scenarios()[module]:
        v = _run(module, kind, routes, companions)  # check() also asserts nothing undeclared
        for name in produced:
            produced[name] |= set(getattr(v, name))
    declared = check_of(module)
    for name, fields in produced.items():
        assert fields == set(getattr(declared, name)), (module, name)
