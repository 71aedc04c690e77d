"""Together AI: GET api.together.xyz/v1/models (Bearer); 401/403 invalid."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.together.xyz"
CHECK = Check(
    provider="Together AI",
    requests=(f"GET {HOST}/v1/models",),
    status="200 live; 401/403 invalid",
    quota=("rate_limit",),
    unknown=("quota and balance", "scope"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, _ = simple_get(client, HOST, "/v1/models", secret, unknown_fields=CHECK.unknown)
    return v
