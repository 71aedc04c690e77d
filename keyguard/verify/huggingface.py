"""Hugging Face: GET huggingface.co/api/whoami-v2 (Bearer): user, token role, fine-grained scopes,
the user's organizations and roles. A token that can write raises the severity to critical (it
can replace a model or a Space's code); so does a legacy-role token of an organization admin."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import Check, Context, Verification
from ._common import expect_shape, simple_get

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
    severity="critical: a token that can write (role `write`, or fine-grained with a write "
             "permission), or a writing token of an org admin; medium: a read-only token (role "
             "`read`, or fine-grained without a write permission)",
)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/api/whoami-v2", secret, unknown_fields=CHECK.unknown)
    if v.status == "invalid" and "expired" in v.evidence.get("reason", "").lower():
        v.reasons.append("the token has expired")
    v.scope["kind"] = ("organization API token (deprecated)" if secret.startswith("api_org_")
                       else "user access token")
    if not expect_shape(v, body, dict, "the whoami object"):
        return v
    token = _dict(_dict(body.get("auth")).get("accessToken"))
    role = token.get("role")
    if isinstance(role, str):
        v.scope["role"] = role
    fine = _dict(token.get("fineGrained"))
    scoped = [{"entity": _dict(s.get("entity")).get("name"), "type": _dict(s.get("entity")).get("type"),
               "permissions": [p for p in _list(s.get("permissions")) if isinstance(p, str)]}
              for s in _list(fine.get("scoped")) if isinstance(s, dict)]
    if scoped:
        v.scope["scoped"] = scoped
    global_ = [p for p in _list(fine.get("global")) if isinstance(p, str)]
    if global_:
        v.scope["global"] = global_
    for field, name in (("name", "user"), ("type", "account_type")):
        if isinstance(body.get(field), str):
            v.scope[name] = body[field]
    orgs = [{"name": o.get("name"), "role": o.get("roleInOrg")} for o in _list(body.get("orgs"))
            if isinstance(o, dict)]
    if orgs:
        v.scope["orgs"] = orgs
    for field in ("isPro", "canPay", "billingMode"):
        if field in body:
            v.quota[field] = body[field]
    permissions = [p for s in scoped for p in s["permissions"]] + global_
    writes = role == "write" or (role == "fineGrained" and any("write" in p for p in permissions))
    admin_of = [o["name"] for o in orgs if o["role"] == "admin" and isinstance(o["name"], str)]
    if writes:
        v.severity = "critical"
        v.reasons.append("a token with write permissions: it can change or publish repositories")
    elif role in ("read", "fineGrained"):
        v.severity = "medium"
        v.reasons.append("a read-only token")
    if admin_of and (writes or role not in ("read", "fineGrained")):
        v.severity = "critical"
        v.reasons.append(f"the token's user is an admin of {', '.join(admin_of[:5])}")
    elif admin_of:
        v.reasons.append(f"the user is an admin of {', '.join(admin_of[:5])}, but the token only reads")
    return v
