"""Replicate: GET api.replicate.com/v1/account (Bearer) -> type (user|organization), username."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.replicate.com"


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/v1/account", secret, invalid=(401,),
                         unknown_fields=["quota", "permissions"])
    if v.status == "live" and isinstance(body, dict):
        for field in ("type", "username"):
            if isinstance(body.get(field), str):
                v.scope["kind" if field == "type" else field] = body[field]
    return v
