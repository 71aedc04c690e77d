"""Hugging Face: GET huggingface.co/api/whoami-v2 (Bearer): user, token role, fine-grained scopes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "huggingface.co"
CHECK = Check(
    provider="Hugging Face",
    requests=(f"GET {HOST}/api/whoami-v2",),
    status="200 live; 401 invalid (\"expired\" in the message: expired)",
    quota=("isPro", "canPay", "billingMode", "rate_limit"),
    scope=("kind", "role", "scoped", "global", "user", "account_type", "orgs"),
    unknown=("rate limits and usage",),
    severity="medium: a read-only token (role `read`, or fine-grained without a write permission)",
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/api/whoami-v2", secret, invalid=(401,),
                         unknown_fields=CHECK.unknown)
    if v.status == "invalid" and "expired" in v.evidence.get("reason", "").lower():
        v.reasons.append("the token has expired")
    v.scope["kind"] = ("organization API token (deprecated)" if secret.startswith("api_org_")
                       else "user access token")
    if v.status != "live" or not isinstance(body, dict):
        return v
    token = (body.get("auth") or {}).get("accessToken") or {}
    role = token.get("role")
    if isinstance(role, str):
        v.scope["role"] = role
    fine = token.get("fineGrained") or {}
    scoped = [{"entity": (s.get("entity") or {}).get("name"), "type": (s.get("entity") or {}).get("type"),
               "permissions": s.get("permissions", [])}
              for s in fine.get("scoped", []) if isinstance(s, dict)]
    if scoped:
        v.scope["scoped"] = scoped
    if fine.get("global"):
        v.scope["global"] = fine["global"]
    for field, name in (("name", "user"), ("type", "account_type")):
        if isinstance(body.get(field), str):
            v.scope[name] = body[field]
    orgs = [{"name": o.get("name"), "role": o.get("roleInOrg")} for o in body.get("orgs", [])
            if isinstance(o, dict)]
    if orgs:
        v.scope["orgs"] = orgs
    for field in ("isPro", "canPay", "billingMode"):
        if field in body:
            v.quota[field] = body[field]
    permissions = [p for s in scoped for p in s["permissions"]] + list(fine.get("global") or [])
    if role == "read" or (role == "fineGrained" and not any("write" in str(p) for p in permissions)):
        v.severity = "medium"
        v.reasons.append("a read-only token")
    elif role in ("write", "fineGrained"):
        v.reasons.append("a token with write permissions")
    return v
