"""Stability AI: GET api.stability.ai/v1/user/account, then GET /v1/user/balance (credits)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import bearer, body_json, send, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.stability.ai"
CHECK = Check(
    provider="Stability AI",
    requests=(f"GET {HOST}/v1/user/account",),
    status="200 live (then `GET /v1/user/balance` for credits); 401 invalid",
    quota=("credits", "rate_limit"),
    scope=("organizations",),
    unknown=("key permissions",),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/v1/user/account", secret, invalid=(401,),
                         unknown_fields=CHECK.unknown)
    if v.status != "live":
        return v
    if isinstance(body, dict):
        orgs = [o.get("id") for o in body.get("organizations", []) if isinstance(o, dict)]
        if orgs:
            v.scope["organizations"] = orgs[:10]
    balance = send(client, "GET", HOST, "/v1/user/balance", headers=bearer(secret))
    if not isinstance(balance, Verification) and balance.status_code == 200:
        credits = (body_json(balance) or {}).get("credits")
        if isinstance(credits, (int, float)):
            v.quota["credits"] = credits
    else:
        v.unknown.append("credits (balance call failed)")
    return v
