"""AssemblyAI: GET api.assemblyai.com/v2/transcript (lists transcripts), ``Authorization: <key>``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.assemblyai.com"
CHECK = Check(
    provider="AssemblyAI",
    requests=(f"GET {HOST}/v2/transcript",),
    status="200 live; 401 invalid",
    quota=("rate_limit",),
    unknown=("quota", "scope"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    # AssemblyAI takes the bare key in Authorization (no "Bearer").
    v, _ = simple_get(client, HOST, "/v2/transcript", secret, headers={"Authorization": secret},
                      invalid=(401,), unknown_fields=CHECK.unknown)
    return v
