"""NVIDIA NGC / NIM: POST api.ngc.nvidia.com/v3/keys/get-caller-info (form body credentials=<key>).

Why this POST is safe: get-caller-info only describes the caller of the given key; it runs no
model and creates or changes nothing. The key travels in the form body, never in the URL.

The answer's body is read where it holds the caller: the key's type, its user's name and the
organizations (with roles) it acts in. The facts file does not document these field names, so
each is read only if present with the expected type, and the rest stays unknown.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import Check, Context, Verification
from ._common import body_json, expect_shape, interpret, send

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.ngc.nvidia.com"
PATH = "/v3/keys/get-caller-info"
CHECK = Check(
    provider="NVIDIA (NGC / NIM)",
    requests=(f"POST {HOST}{PATH}",),
    status="200 live; 401 invalid",
    quota=("rate_limit",),
    scope=("key_type", "user", "orgs"),
    unknown=("services included in the key (not in get-caller-info as far as documented)",
             "quota"),
)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    check = f"POST {HOST}{PATH}"
    answer = send(client, "POST", HOST, PATH, data={"credentials": secret},
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    unknown = list(CHECK.unknown)
    if isinstance(answer, Verification):
        answer.check, answer.unknown = check, unknown
        return answer
    v = interpret(answer, secret, check, unknown_fields=unknown)
    body = body_json(answer)
    if not expect_shape(v, body, dict, "the caller description"):
        return v
    for field in ("type", "keyType"):
        if isinstance(body.get(field), str):
            v.scope["key_type"] = body[field][:40]
    user = _dict(body.get("user"))
    if isinstance(user.get("name"), str):
        v.scope["user"] = user["name"][:80]
    orgs = []
    for role in user.get("roles", []) if isinstance(user.get("roles"), list) else []:
        org = _dict(_dict(role).get("org"))
        if isinstance(org.get("name"), str):
            roles = _dict(role).get("orgRoles")
            orgs.append({"name": org["name"][:80],
                         "roles": [r for r in roles if isinstance(r, str)][:10] if isinstance(roles, list) else []})
    if orgs:
        v.scope["orgs"] = orgs[:10]
    return v
