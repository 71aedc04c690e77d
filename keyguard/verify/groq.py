"""Groq: GET api.groq.com/openai/v1/models (Bearer). Rate-limit headers are organization-level."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.groq.com"
CHECK = Check(
    provider="Groq",
    requests=(f"GET {HOST}/openai/v1/models",),
    status="200 live; 401 `invalid_api_key` invalid",
    quota=("rate_limit",),
    unknown=("plan features (shown only by batch/file calls, not made)", "balance",
             "scope (Groq keys have none documented)"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, _ = simple_get(client, HOST, "/openai/v1/models", secret, invalid=(401,),
                      unknown_fields=CHECK.unknown)
    return v
