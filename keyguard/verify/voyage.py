"""Voyage AI: GET api.voyageai.com/v1/files (Bearer): 200 permitted, 403 valid but not permitted."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.voyageai.com"
CHECK = Check(
    provider="Voyage AI",
    requests=(f"GET {HOST}/v1/files",),
    status="200 live; 403 live (valid, no file permission); 401 invalid",
    quota=("rate_limit",),
    scope=("files_access",),
    unknown=("quota", "scope beyond file access"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, _ = simple_get(client, HOST, "/v1/files", secret, live=(200, 403), invalid=(401,),
                      unknown_fields=CHECK.unknown)
    if v.status == "live":
        v.scope["files_access"] = v.evidence.get("http_status") == 200
        if v.evidence.get("http_status") == 403:
            v.reasons.append("403 on /v1/files: a valid key without permission for files")
    return v
