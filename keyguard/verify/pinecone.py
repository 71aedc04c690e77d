"""Pinecone: GET api.pinecone.io/indexes (Api-Key header); 403 = valid key with a restricted role."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.pinecone.io"
CHECK = Check(
    provider="Pinecone",
    requests=(f"GET {HOST}/indexes",),
    status="200 live; 403 live (restricted role; observed, undocumented); 401 invalid",
    quota=("rate_limit",),
    scope=("role", "indexes"),
    unknown=("quota",),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    headers = {"Api-Key": secret, "X-Pinecone-Api-Version": "2025-10"}
    v, body = simple_get(client, HOST, "/indexes", secret, headers=headers, live=(200, 403),
                         invalid=(401,), unknown_fields=CHECK.unknown)
    if v.status == "live" and v.evidence.get("http_status") == 403:
        v.scope["role"] = "restricted"
        v.reasons.append("403 on /indexes: a valid key whose role cannot list indexes (observed, undocumented)")
    elif v.status == "live" and isinstance(body, dict) and isinstance(body.get("indexes"), list):
        v.scope["indexes"] = len(body["indexes"])
    return v
