"""Mistral: GET api.mistral.ai/v1/models (Bearer); 401 Unauthorized when invalid."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.mistral.ai"
CHECK = Check(
    provider="Mistral",
    requests=(f"GET {HOST}/v1/models",),
    status="200 live; 401 Unauthorized invalid",
    quota=("rate_limit",),
    unknown=("restrictions", "quota", "scope"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, _ = simple_get(client, HOST, "/v1/models", secret, invalid=(401,),
                      unknown_fields=CHECK.unknown)
    return v
