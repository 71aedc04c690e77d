"""OpenRouter: GET openrouter.ai/api/v1/key (Bearer) -> limit, usage, free tier, key kind."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "openrouter.ai"
QUOTA_FIELDS = ("limit", "limit_remaining", "limit_reset", "usage", "usage_daily", "usage_weekly",
                "usage_monthly", "is_free_tier", "expires_at")
CHECK = Check(
    provider="OpenRouter",
    requests=(f"GET {HOST}/api/v1/key",),
    status="200 live; 401 invalid",
    quota=(*QUOTA_FIELDS, "rate_limit"),
    scope=("label", "kind"),
    unknown=("account credit balance",),
    severity="critical: a management/provisioning key, or `limit` null on a paid account",
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/api/v1/key", secret, invalid=(401,),
                         unknown_fields=CHECK.unknown)
    if v.status != "live" or not isinstance(body, dict):
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
    elif "limit" in data and data["limit"] is None and not data.get("is_free_tier"):
        v.severity = "critical"
        v.reasons.append("no spend limit on a paid account")
    return v
