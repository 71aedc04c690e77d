"""Replicate: GET api.replicate.com/v1/account (Bearer) -> type (user|organization), username."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.replicate.com"
CHECK = Check(
    provider="Replicate",
    requests=(f"GET {HOST}/v1/account",),
    status="200 live; 401 invalid",
    quota=("rate_limit",),
    scope=("kind", "username"),
    unknown=("quota and balance", "permissions"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/v1/account", secret, invalid=(401,),
                         unknown_fields=CHECK.unknown)
    if v.status == "live" and isinstance(body, dict):
        for field in ("type", "username"):
            if isinstance(body.get(field), str):
                v.scope["kind" if field == "type" else field] = body[field]
    return v
