"""LangSmith: GET api.smith.langchain.com/api/v1/api-key (X-API-Key).

Only ever GET: a POST to /api/v1/api-key/current creates a new personal access token.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.smith.langchain.com"
CHECK = Check(
    provider="LangSmith",
    requests=(f"GET {HOST}/api/v1/api-key",),
    status="200 live; 401/403 invalid",
    quota=("rate_limit",),
    scope=("kind",),
    unknown=("quota", "workspace permissions"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, _ = simple_get(client, HOST, "/api/v1/api-key", secret, headers={"X-API-Key": secret},
                      unknown_fields=CHECK.unknown)
    if secret.startswith("lsv2_pt_"):
        v.scope["kind"] = "personal access token (the user's permissions)"
    elif secret.startswith("lsv2_sk_"):
        v.scope["kind"] = "service key (organization or workspace)"
    return v
