"""Deepgram: GET api.deepgram.com/v1/auth/token, ``Authorization: Token <key>``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.deepgram.com"


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, _ = simple_get(client, HOST, "/v1/auth/token", secret,
                      headers={"Authorization": f"Token {secret}"},
                      unknown_fields=["scopes and balance (response fields undocumented in our sources)"])
    return v
