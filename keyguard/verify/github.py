"""GitHub: GET api.github.com/user (``Authorization: token``): login, X-OAuth-Scopes, expiry."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Context, Verification
from ._common import body_json, interpret, send

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.github.com"


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    check = f"GET {HOST}/user"
    headers = {"Authorization": f"token {secret}", "Accept": "application/vnd.github+json"}
    answer = send(client, "GET", HOST, "/user", headers=headers)
    if isinstance(answer, Verification):
        answer.check = check
        return answer
    v = interpret(answer, secret, check, invalid=(401,))
    if v.status != "live":
        return v
    scopes = answer.headers.get("x-oauth-scopes")
    if scopes is not None:
        v.scope["oauth_scopes"] = [s.strip() for s in scopes.split(",") if s.strip()]
    else:
        v.unknown.append("permissions of a fine-grained token (no X-OAuth-Scopes header)")
    expires = answer.headers.get("github-authentication-token-expiration")
    if expires:
        v.scope["expires"] = expires
    body = body_json(answer)
    if isinstance(body, dict):
        for field in ("login", "type"):
            if isinstance(body.get(field), str):
                v.scope[field] = body[field]
    return v
