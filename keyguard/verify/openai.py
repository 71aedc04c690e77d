"""OpenAI: GET api.openai.com/v1/models (admin keys: GET /v1/organization/admin_api_keys).

A restricted key lacking ``model.read`` answers 401 "Missing scopes: ..." — valid but scoped.
429 ``insufficient_quota`` means a valid key whose organization has no quota left. A 403 is not
a documented bad-key answer (OpenAI uses it e.g. for unsupported regions), so it stays unknown.
A restricted key's other permissions could only be probed with POSTs to generation endpoints
(as trufflehog's analyzer does with invalid bodies); keyguard does not make them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import re

from . import Check, Context, Verification
from ._common import bearer, body_json, interpret, send

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.openai.com"
CHECK = Check(
    provider="OpenAI",
    requests=(f"GET {HOST}/v1/models", f"GET {HOST}/v1/organization/admin_api_keys"),
    status="200 live; 401 `invalid_api_key` invalid; 401 \"insufficient permissions … Missing "
           "scopes\" live (restricted key); 429 `insufficient_quota` live (no quota left)",
    quota=("rate_limit", "exhausted"),
    scope=("kind", "restricted", "missing_scopes"),
    unknown=("balance and spend limit",
             "a restricted key's permissions beyond the missing ones (probing needs POSTs)",
             "whether a rejected key was revoked or never valid"),
    severity="critical: a live admin key",
)
_MISSING = re.compile(r"Missing scopes:\s*([a-z0-9_.]+(?:\s*,\s*[a-z0-9_.]+)*)", re.I)


def _kind(secret: str) -> str:
    for prefix, kind in (("sk-admin-", "admin"), ("sk-proj-", "project"),
                         ("sk-svcacct-", "service account"), ("sk-service-", "service account")):
        if secret.startswith(prefix):
            return kind
    return "user (legacy)"


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    kind = _kind(secret)
    path = "/v1/organization/admin_api_keys?limit=1" if kind == "admin" else "/v1/models"
    check = f"GET {HOST}{path.split('?')[0]}"
    answer = send(client, "GET", HOST, path, headers=bearer(secret))
    unknown = list(CHECK.unknown)
    if isinstance(answer, Verification):
        answer.check, answer.unknown = check, unknown
        return answer
    body = body_json(answer)
    v = interpret(answer, secret, check, invalid=(401,), unknown_fields=unknown)
    v.scope["kind"] = kind
    message = v.evidence.get("reason", "")
    if answer.status_code == 401 and "insufficient permissions" in message.lower():
        v.status = "live"
        v.reasons = ["401 'insufficient permissions': a valid restricted key"]
        error = (body or {}).get("error") if isinstance(body, dict) else None
        missing = _MISSING.search(str(error.get("message", "")) if isinstance(error, dict) else "")
        v.scope["restricted"] = True
        if missing:
            v.scope["missing_scopes"] = [s.strip().rstrip(".") for s in missing.group(1).split(",")
                                         if s.strip().rstrip(".")]
    elif answer.status_code == 429 and "insufficient_quota" in (v.evidence.get("type"),
                                                                v.evidence.get("code")):
        v.status = "live"
        v.quota["exhausted"] = True
        v.reasons = ["429 insufficient_quota: a valid key whose organization has no quota left"]
    if v.status == "live" and kind == "admin":
        v.severity = "critical"
        v.reasons.append("an organization admin key: it can create keys and read billing")
    return v
