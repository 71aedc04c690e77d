"""Fireworks AI: GET api.fireworks.ai/v1/accounts (Bearer). Error bodies are undocumented."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.fireworks.ai"


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/v1/accounts", secret, invalid=(401,),
                         unknown_fields=["key format (no documented prefix)", "error bodies",
                                         "quota", "scope"])
    if v.evidence.get("http_status") == 412:
        v.reasons = ["412 PRECONDITION_FAILED: seen for a suspended or over-limit account; "
                     "whether the key is live is unknown"]
    if v.status == "live" and isinstance(body, dict):
        names = [a.get("name") for a in body.get("accounts", []) if isinstance(a, dict)]
        if names:
            v.scope["accounts"] = [n for n in names if isinstance(n, str)][:10]
    return v
