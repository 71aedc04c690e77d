"""Cohere: POST api.cohere.com/v1/check-api-key (Bearer) -> valid, organization_id, owner_id.

Why this POST is safe: check-api-key is Cohere's documented key-validation endpoint; it takes
no body, runs no model and creates or changes nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import bearer, body_json, expect_shape, interpret, send

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.cohere.com"
PATH = "/v1/check-api-key"
CHECK = Check(
    provider="Cohere",
    requests=(f"POST {HOST}{PATH}",),
    status="200 `valid: true` live, `valid: false` invalid; 401 invalid",
    quota=("rate_limit",),
    scope=("organization_id", "owner_id"),
    unknown=("trial vs production key", "quota"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    check = f"POST {HOST}{PATH}"
    answer = send(client, "POST", HOST, PATH, headers=bearer(secret))
    unknown = list(CHECK.unknown)
    if isinstance(answer, Verification):
        answer.check, answer.unknown = check, unknown
        return answer
    v = interpret(answer, secret, check, invalid=(401,), unknown_fields=unknown)
    body = body_json(answer)
    if expect_shape(v, body, dict, "{valid, organization_id, owner_id}"):
        if body.get("valid") is False:
            v.status = "invalid"
            v.reasons = ["check-api-key answered valid: false"]
        for field in ("organization_id", "owner_id"):
            if isinstance(body.get(field), str):
                v.scope[field] = body[field]
    return v
