"""Stability AI: GET api.stability.ai/v1/user/account, then GET /v1/user/balance (credits)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import bearer, body_json, expect_shape, optional_get, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.stability.ai"
CHECK = Check(
    provider="Stability AI",
    requests=(f"GET {HOST}/v1/user/account", f"GET {HOST}/v1/user/balance"),
    status="200 live (then `GET /v1/user/balance` for credits; an unexpected balance body "
           "leaves credits unknown); 401 invalid",
    quota=("credits", "rate_limit"),
    scope=("organizations",),
    unknown=("key permissions",),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/v1/user/account", secret, unknown_fields=CHECK.unknown)
    if not expect_shape(v, body, dict, "the account object"):
        return v
    listed = body.get("organizations")
    orgs = [o.get("id") for o in listed if isinstance(o, dict)] if isinstance(listed, list) else []
    if orgs:
        v.scope["organizations"] = orgs[:10]
    balance = optional_get(client, HOST, "/v1/user/balance", bearer(secret))
    data = body_json(balance) if not isinstance(balance, str) else None
    credits = data.get("credits") if isinstance(data, dict) else None
    if isinstance(balance, str) or balance.status_code != 200:
        why = balance if isinstance(balance, str) else f"answered {balance.status_code}"
        v.unknown.append(f"credits (the balance call {why})")
    elif isinstance(credits, (int, float)) and not isinstance(credits, bool):
        v.quota["credits"] = credits
    else:
        shape = "no JSON" if data is None else f"a JSON {type(data).__name__}"
        v.unknown.append(f"credits (the balance call answered {shape}, not {{\"credits\": n}})")
    return v
