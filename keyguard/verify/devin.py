"""Devin (Cognition): API keys (``apk_user_``, ``apk_``) list one session, GET api.devin.ai/v1/
sessions?limit=1; service-user tokens (``cog_``) read themselves, GET api.devin.ai/v3/self
(betterleaks' checks, in the facts file). Only a 200 with the documented body decides (live): the
facts file gives no bad-key answer, so any refusal is unknown."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import expect_shape, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.devin.ai"
CHECK = Check(
    provider="Devin",
    requests=(f"GET {HOST}/v1/sessions", f"GET {HOST}/v3/self"),
    status="API keys: 200 with `sessions` live; service-user tokens (`cog_`): 200 with "
           "`principal_type` live; any refusal unknown (the bad-key answer is undocumented)",
    quota=("rate_limit",),
    scope=("principal_type",),
    unknown=("whether a refused key is dead (the bad-key answer is undocumented)", "ACU balance"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    path, field = ("/v3/self", "principal_type") if secret.startswith("cog_") else ("/v1/sessions?limit=1", "sessions")
    v, body = simple_get(client, HOST, path, secret, invalid=(), unknown_fields=CHECK.unknown)
    if expect_shape(v, body, dict, "Devin's JSON object"):
        if field not in body:
            v.status, v.severity = "unknown", None
            v.reasons = [f"200 without `{field}`: not the documented answer, liveness unknown"]
        elif field == "principal_type" and isinstance(body[field], str):
            v.scope["principal_type"] = body[field][:40]
    return v
