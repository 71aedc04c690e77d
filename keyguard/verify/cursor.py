"""Cursor: GET api.cursor.com/v0/me with HTTP Basic auth, the key as the user name and an empty
password (OSV-SCALIBR's validator, in the facts file): 200 live, 401/403 invalid. The key is
sent only in the Authorization header."""
from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import expect_shape, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.cursor.com"
CHECK = Check(
    provider="Cursor",
    requests=(f"GET {HOST}/v0/me",),
    status="200 live; 401/403 invalid (OSV-SCALIBR; Cursor documents no error bodies); 429 unknown",
    quota=("rate_limit",),
    scope=("user_email",),
    unknown=("the key's kind and permissions (user, admin or background-agent key)", "quota and spend"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    basic = base64.b64encode(f"{secret}:".encode()).decode()
    v, body = simple_get(client, HOST, "/v0/me", secret, headers={"Authorization": f"Basic {basic}"},
                         invalid=(401, 403), unknown_fields=CHECK.unknown)
    if expect_shape(v, body, dict, "the key's user") and isinstance(body.get("userEmail"), str):
        v.scope["user_email"] = body["userEmail"][:120]
    return v
