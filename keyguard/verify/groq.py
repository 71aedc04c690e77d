"""Groq: GET api.groq.com/openai/v1/models (Bearer). Rate-limit headers are organization-level."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.groq.com"


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, _ = simple_get(client, HOST, "/openai/v1/models", secret,
                      unknown_fields=["plan features (only shown by batch/file calls, not made)",
                                      "balance"])
    return v
