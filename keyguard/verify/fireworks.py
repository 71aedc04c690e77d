"""Fireworks AI: GET api.fireworks.ai/v1/accounts (Bearer). Error bodies are undocumented."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.fireworks.ai"
CHECK = Check(
    provider="Fireworks AI",
    requests=(f"GET {HOST}/v1/accounts",),
    status="200 live; 401 invalid; 412 `PRECONDITION_FAILED` unknown (seen for suspended or "
           "over-limit accounts); other error bodies are undocumented",
    quota=("rate_limit",),
    scope=("accounts",),
    unknown=("key format (no documented prefix)", "error bodies", "quota", "permissions"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/v1/accounts", secret, invalid=(401,),
                         unknown_fields=CHECK.unknown)
    if v.evidence.get("http_status") == 412:
        v.reasons = ["412 PRECONDITION_FAILED: seen for a suspended or over-limit account; "
                     "whether the key is live is unknown"]
    if v.status == "live" and isinstance(body, dict):
        names = [a.get("name") for a in body.get("accounts", []) if isinstance(a, dict)]
        if names:
            v.scope["accounts"] = [n for n in names if isinstance(n, str)][:10]
    return v
