"""Langfuse: GET cloud.langfuse.com/api/public/projects with HTTP Basic auth of the public and
secret key (TruffleHog's check, in the facts file). The secret key alone proves nothing, so the
public key (``pk-lf-``) must stand near it; without it nothing is sent. Only Langfuse Cloud's
default host is asked: a key of another region or a self-hosted Langfuse is refused there, so a
401 is unknown, not dead."""
from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import expect_shape, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "cloud.langfuse.com"
CHECK = Check(
    provider="Langfuse",
    requests=(f"GET {HOST}/api/public/projects",),
    status="200 live (the key pair reads its project); 401 unknown (another region or a self-hosted "
           "Langfuse is not asked); no `pk-lf-` public key near the secret: unknown, nothing sent",
    quota=("rate_limit",),
    scope=("projects",),
    unknown=("whether a refused pair lives on another Langfuse host", "the project's data and usage"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    public = context.companions.get("langfuse_public_key", "")
    if not public:
        return Verification("unknown", "", unknown=list(CHECK.unknown), reasons=[
            "no Langfuse public key (pk-lf-...) near the secret key: nothing to check with, nothing sent"])
    basic = base64.b64encode(f"{public}:{secret}".encode()).decode()
    v, body = simple_get(client, HOST, "/api/public/projects", secret,
                         headers={"Authorization": f"Basic {basic}"}, invalid=(), unknown_fields=CHECK.unknown)
    if v.evidence.get("http_status") == 401:
        v.reasons = ["401 on Langfuse Cloud (EU): the pair is not known there; another region or a "
                     "self-hosted Langfuse was not asked"]
    if expect_shape(v, body, dict, "the key's projects") and isinstance(body.get("data"), list):
        v.scope["projects"] = len(body["data"])
    return v
