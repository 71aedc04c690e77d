"""Deepgram: GET api.deepgram.com/v1/auth/token, ``Authorization: Token <key>``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.deepgram.com"
CHECK = Check(
    provider="Deepgram",
    requests=(f"GET {HOST}/v1/auth/token",),
    status="200 live; 401 invalid",
    quota=("rate_limit",),
    unknown=("scopes and balance (response fields undocumented in our sources)",),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, _ = simple_get(client, HOST, "/v1/auth/token", secret,
                      headers={"Authorization": f"Token {secret}"},
                      invalid=(401,), unknown_fields=CHECK.unknown)
    return v
