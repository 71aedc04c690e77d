"""ElevenLabs: GET api.elevenlabs.io/v1/user (xi-api-key) -> subscription character quota."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.elevenlabs.io"
QUOTA_FIELDS = ("character_count", "character_limit", "next_character_count_reset_unix", "tier", "status")
CHECK = Check(
    provider="ElevenLabs",
    requests=(f"GET {HOST}/v1/user",),
    status="200 live; 401 `missing_permissions` live (no `user_read`); 401 `invalid_api_key` "
           "invalid",
    quota=(*QUOTA_FIELDS, "rate_limit"),
    scope=("user_read",),
    unknown=("per-key permissions other than user_read (not probed)",),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/v1/user", secret, headers={"xi-api-key": secret},
                         invalid=(401,), unknown_fields=CHECK.unknown)
    code = v.evidence.get("code") or v.evidence.get("status")
    if v.evidence.get("http_status") == 401 and code == "missing_permissions":
        v.status = "live"
        v.scope["user_read"] = False
        v.reasons = ["401 missing_permissions: a valid key without the user_read permission"]
    if v.status == "live" and isinstance(body, dict):
        sub = body.get("subscription") or {}
        v.quota.update({k: sub[k] for k in QUOTA_FIELDS if k in sub})
    return v
