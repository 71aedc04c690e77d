"""OpenAI: GET api.openai.com/v1/models (admin keys: GET /v1/organization/admin_api_keys).

A restricted key lacking ``model.read`` answers 401 "Missing scopes: ..." — valid but scoped.
429 ``insufficient_quota``, ``project_spend_limit_exceeded`` or
``organization_spend_limit_exceeded`` means a valid key that cannot spend now (which limit is
named). A 403 is not a documented bad-key answer (OpenAI uses it e.g. for unsupported regions),
so it stays unknown.

A live key's read permissions are probed with list GETs (files, fine-tuning jobs, assistants,
batches; ``limit=1``): 200 readable, 401 "Missing scopes" not. Write permissions could only be
probed with POSTs (as trufflehog's analyzer does with invalid bodies); keyguard makes none, so
they stay unknown and the result says so.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import re

from .model import Check, Context, Verification
from ._common import bearer, body_json, error_fields, interpret, is_html, optional_get, send

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.openai.com"
READ_PROBES = {"files": "/v1/files", "fine_tuning": "/v1/fine_tuning/jobs",
               "assistants": "/v1/assistants", "batches": "/v1/batches"}
EXHAUSTED = {"insufficient_quota": "no quota left (insufficient_quota)",
             "project_spend_limit_exceeded": "the project's spend limit",
             "organization_spend_limit_exceeded": "the organization's spend limit"}
CHECK = Check(
    provider="OpenAI",
    requests=(f"GET {HOST}/v1/models", f"GET {HOST}/v1/organization/admin_api_keys",
              *(f"GET {HOST}{path}" for path in READ_PROBES.values())),
    status="200 live; 401 `invalid_api_key` invalid; 401 \"insufficient permissions … Missing "
           "scopes\" live (restricted key); 429 `insufficient_quota`, "
           "`project_spend_limit_exceeded`, `organization_spend_limit_exceeded` live (exhausted: "
           "that limit); then, for a live non-admin key, one list GET per read scope",
    quota=("rate_limit", "exhausted"),
    scope=("kind", "restricted", "missing_scopes", "read_scopes"),
    unknown=("balance and spend limit (until one is hit)",
             "write permissions (probing them needs POSTs)",
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
    elif answer.status_code == 429 and (limit := next(
            (c for c in (v.evidence.get("code"), v.evidence.get("type")) if c in EXHAUSTED), None)):
        v.status = "live"
        v.quota["exhausted"] = limit
        v.reasons = [f"429 {limit}: a valid key that has hit {EXHAUSTED[limit]}"]
    elif answer.status_code == 200 and not isinstance(body, dict):
        v.status = "unknown"
        v.reasons = ["200 without OpenAI's JSON list object: whether the key is live is unknown"]
    if v.status == "live" and kind == "admin":
        v.severity = "critical"
        v.reasons.append("an organization admin key: it can create keys and read billing")
    elif v.status == "live":
        _read_scopes(v, secret, client)
    return v


def _read_scopes(v: Verification, secret: str, client: CredentialClient) -> None:
    """Which read permissions the key has, one list GET each (nothing created, nothing run)."""
    readable: dict[str, bool] = {}
    for name, path in READ_PROBES.items():
        headers = bearer(secret)
        if name == "assistants":
            headers["OpenAI-Beta"] = "assistants=v2"
        answer = optional_get(client, HOST, f"{path}?limit=1", headers)
        if isinstance(answer, str):
            v.unknown.append(f"read scope {name}: {answer}")
            continue
        said = str(error_fields(body_json(answer), secret).get("reason", "")).lower()
        if answer.status_code == 200 and not is_html(answer):
            readable[name] = True
        elif answer.status_code == 401 and ("missing scopes" in said or "insufficient permissions" in said):
            readable[name] = False
        else:
            v.unknown.append(f"read scope {name}: the list call answered {answer.status_code}")
    if readable:
        v.scope["read_scopes"] = readable
    if False in readable.values():
        v.scope["restricted"] = True
        v.reasons.append("a restricted key: it cannot read "
                         + ", ".join(n for n, ok in readable.items() if not ok))
