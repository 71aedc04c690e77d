"""Deepgram: GET api.deepgram.com/v1/auth/token (``Authorization: Token <key>``), then balances.

/v1/auth/token describes the key: its scopes and project, where the answer holds them. The
project's balances (``GET /v1/projects/{id}/balances``: ``amount``, ``units``) need a key with
project access; a key whose project is not in the token answer lists its projects with
``GET /v1/projects`` (which needs ``project:read``; a 403 there is a valid key without that
scope, not a dead one). At most three projects are read.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .model import Check, Context, Verification
from ._common import body_json, expect_shape, optional_get, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.deepgram.com"
PROJECT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_PROJECTS = 3
CHECK = Check(
    provider="Deepgram",
    requests=(f"GET {HOST}/v1/auth/token", f"GET {HOST}/v1/projects",
              f"GET {HOST}/v1/projects/<id>/balances"),
    status="200 live; 401 invalid; another answer (e.g. 403) unknown; then the projects and "
           "their balances (403 there: the key lacks `project:read`)",
    quota=("rate_limit", "balances"),
    scope=("scopes", "projects"),
    unknown=("the token answer's field names are not in the facts file (read if present)",),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    headers = {"Authorization": f"Token {secret}"}
    v, body = simple_get(client, HOST, "/v1/auth/token", secret, headers=headers,
                         unknown_fields=CHECK.unknown)
    if not expect_shape(v, body, dict, "the token's details"):
        return v
    token = body.get("key") if isinstance(body.get("key"), dict) else body
    scopes = token.get("scopes")
    if isinstance(scopes, list):
        v.scope["scopes"] = [s for s in scopes if isinstance(s, str)][:20]
    projects = [str(p) for p in (token.get("project_id"), token.get("project_uuid"), body.get("project_id"))
                if isinstance(p, str) and PROJECT.fullmatch(p)]
    if not projects:
        projects = _projects(v, client, headers)
    if projects:
        v.scope["projects"] = list(dict.fromkeys(projects))[:10]
    balances: dict[str, Any] = {}
    for project in list(dict.fromkeys(projects))[:MAX_PROJECTS]:
        answer = optional_get(client, HOST, f"/v1/projects/{project}/balances", headers)
        data = body_json(answer) if not isinstance(answer, str) else None
        items = data.get("balances") if isinstance(data, dict) else None
        if isinstance(answer, str) or answer.status_code != 200 or not isinstance(items, list):
            why = answer if isinstance(answer, str) else f"answered {answer.status_code}"
            v.unknown.append(f"balances of project {project}: {why}")
            continue
        balances[project] = [{k: b[k] for k in ("amount", "units") if k in b}
                             for b in items[:10] if isinstance(b, dict)]
    if balances:
        v.quota["balances"] = balances
    return v


def _projects(v: Verification, client: CredentialClient, headers: dict[str, str]) -> list[str]:
    answer = optional_get(client, HOST, "/v1/projects", headers)
    data = body_json(answer) if not isinstance(answer, str) else None
    items = data.get("projects") if isinstance(data, dict) else None
    if isinstance(answer, str) or answer.status_code != 200 or not isinstance(items, list):
        why = answer if isinstance(answer, str) else f"answered {answer.status_code}"
        v.unknown.append(f"projects and balances: the project list {why}")
        return []
    return [p["project_id"] for p in items if isinstance(p, dict)
            and isinstance(p.get("project_id"), str) and PROJECT.fullmatch(p["project_id"])]
