"""DeepSeek: GET api.deepseek.com/user/balance (Bearer) -> is_available, balances."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.deepseek.com"
CHECK = Check(
    provider="DeepSeek",
    requests=(f"GET {HOST}/user/balance",),
    status="200 live; 402 Insufficient Balance live (no money left); 401 invalid",
    quota=("is_available", "balance", "insufficient_balance", "rate_limit"),
    unknown=("scope (DeepSeek documents none)", "spend limit"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/user/balance", secret, live=(200, 402), invalid=(401,),
                         unknown_fields=CHECK.unknown)
    if v.evidence.get("http_status") == 402:
        v.quota["insufficient_balance"] = True
        v.reasons = ["402 Insufficient Balance: a valid key with no money left"]
    if v.status == "live" and isinstance(body, dict):
        if "is_available" in body:
            v.quota["is_available"] = body["is_available"]
        infos = [{k: i.get(k) for k in ("currency", "total_balance", "granted_balance", "topped_up_balance")}
                 for i in body.get("balance_infos", []) if isinstance(i, dict)]
        if infos:
            v.quota["balance"] = infos
    return v
