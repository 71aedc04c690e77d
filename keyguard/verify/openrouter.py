"""OpenRouter: GET openrouter.ai/api/v1/key (Bearer) -> limit, usage, free tier, key kind.

A 402 (payment required) is a valid key whose account or key limit is spent: live, exhausted.
A management key may also read the account's credits (GET /api/v1/credits), so it does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import bearer, body_json, expect_shape, optional_get, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "openrouter.ai"
QUOTA_FIELDS = ("limit", "limit_remaining", "limit_reset", "usage", "usage_daily", "usage_weekly",
                "usage_monthly", "is_free_tier", "expires_at")
CHECK = Check(
    provider="OpenRouter",
    requests=(f"GET {HOST}/api/v1/key", f"GET {HOST}/api/v1/credits"),
    status="200 live; 402 live (exhausted: no credits left); 401 invalid; a management key then "
           "reads `/api/v1/credits`",
    quota=(*QUOTA_FIELDS, "rate_limit", "exhausted", "total_credits", "total_usage"),
    scope=("label", "kind"),
    unknown=("account credit balance, unless the key is a management key",),
    severity="critical: a management/provisioning key, or `limit` null on a paid account",
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/api/v1/key", secret, live=(200, 402),
                         unknown_fields=CHECK.unknown)
    if v.evidence.get("http_status") == 402:
        v.quota["exhausted"] = "credits"
        v.reasons = ["402: a valid key whose account (or key limit) has no credits left"]
        return v
    if not expect_shape(v, body, dict, "the key object"):
        return v
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    v.quota.update({k: data[k] for k in QUOTA_FIELDS if k in data})
    if isinstance(data.get("label"), str):
        v.scope["label"] = data["label"][:80]
    management = bool(data.get("is_management_key") or data.get("is_provisioning_key"))
    v.scope["kind"] = "management" if management else "api key"
    if management:
        v.severity = "critical"
        v.reasons.append("a management/provisioning key: it can create and change keys")
        _credits(v, secret, client)
    elif "limit" in data and data["limit"] is None and not data.get("is_free_tier"):
        v.severity = "critical"
        v.reasons.append("no spend limit on a paid account")
    return v


def _credits(v: Verification, secret: str, client: CredentialClient) -> None:
    answer = optional_get(client, HOST, "/api/v1/credits", bearer(secret))
    body = body_json(answer) if not isinstance(answer, str) else None
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(answer, str) or answer.status_code != 200 or not isinstance(data, dict):
        why = answer if isinstance(answer, str) else f"answered {answer.status_code}"
        v.unknown.append(f"account credits: /api/v1/credits {why}")
        return
    for field in ("total_credits", "total_usage"):
        if isinstance(data.get(field), (int, float)) and not isinstance(data.get(field), bool):
            v.quota[field] = data[field]
