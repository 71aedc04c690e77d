"""Anthropic: GET api.anthropic.com/v1/models (admin keys: GET /v1/organizations/me).

Never POST /v1/messages (a paid generation). API keys have no scopes (full access). A live admin
key also counts what it controls: workspaces, API keys and users (one list page each, up to 100;
"100+" when Anthropic says there are more).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import body_json, count, optional_get, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.anthropic.com"
COUNTS = {"workspaces": "/v1/organizations/workspaces", "api_keys": "/v1/organizations/api_keys",
          "users": "/v1/organizations/users"}
VERSION = "2023-06-01"
CHECK = Check(
    provider="Anthropic",
    requests=(f"GET {HOST}/v1/models", f"GET {HOST}/v1/organizations/me",
              *(f"GET {HOST}{path}" for path in COUNTS.values())),
    status="200 live; 403 `permission_error` live (authenticated, not permitted); 401 "
           "`authentication_error` invalid; 404 unknown (disabled or not found); 529 error",
    quota=("rate_limit",),
    scope=("kind", "organization_id", "organization_name", "workspaces", "api_keys", "users"),
    unknown=("balance and spend limit", "the key's workspace"),
    severity="critical: a live admin key",
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    admin = secret.startswith("sk-ant-admin")
    headers = {"x-api-key": secret, "anthropic-version": VERSION}
    path = "/v1/organizations/me" if admin else "/v1/models"
    v, body = simple_get(client, HOST, path, secret, headers=headers, live=(200, 403),
                         invalid=(401,), unknown_fields=CHECK.unknown)
    status = v.evidence.get("http_status") if v.evidence.get("body") != "web page" else None
    if status == 403:
        v.reasons = ["403 permission_error: the key authenticated but may not list this resource"]
    elif status == 404:
        v.reasons = ["404: the key may be disabled or the resource not found (unknown)"]
    elif status == 529:
        v.status = "error"
        v.reasons = ["529 overloaded_error"]
    v.scope["kind"] = "admin" if admin else "api key (full access; Anthropic keys have no scopes)"
    if v.status == "live" and admin:
        v.severity = "critical"
        v.reasons.append("an organization admin key: it manages keys, members and workspaces")
        if isinstance(body, dict):
            for field in ("id", "name"):
                if isinstance(body.get(field), str):
                    v.scope[f"organization_{field}"] = body[field]
        for name, list_path in COUNTS.items():
            answer = optional_get(client, HOST, f"{list_path}?limit=100", headers)
            n = count(body_json(answer)) if not isinstance(answer, str) and answer.status_code == 200 \
                else None
            if n is None:
                why = answer if isinstance(answer, str) else f"answered {answer.status_code}"
                v.unknown.append(f"number of {name.replace('_', ' ')}: the list {why}")
            else:
                v.scope[name] = n
    elif v.status == "live" and status == 200 and not isinstance(body, dict):
        v.status = "unknown"
        v.reasons = ["200 without Anthropic's JSON model list: whether the key is live is unknown"]
    return v
