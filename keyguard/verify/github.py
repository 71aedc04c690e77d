"""GitHub: GET api.github.com/user (``Authorization: token``): login, X-OAuth-Scopes, expiry.

GitHub App installation tokens (``ghs_``) cannot read /user, so they are checked with
``GET /rate_limit``, which any valid token may call and which "does not count against your REST
API rate limit". Refresh tokens (``ghr_``) are only accepted by the OAuth token exchange, a POST
that mints a new token: they are not checked.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import body_json, interpret, send

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.github.com"
CHECK = Check(
    provider="GitHub",
    requests=(f"GET {HOST}/user", f"GET {HOST}/rate_limit"),
    status="200 live; 401 invalid; installation tokens (`ghs_`) via `/rate_limit`; refresh tokens "
           "(`ghr_`) unknown (nothing sent: only a token-minting POST accepts them)",
    quota=("rate_limit",),
    scope=("kind", "oauth_scopes", "expires", "login", "type"),
    unknown=("permissions of fine-grained and app tokens (GitHub sends X-OAuth-Scopes only for "
             "classic and OAuth-app tokens)",),
)
KINDS = {"ghp_": "classic personal access token", "github_pat_": "fine-grained personal access token",
         "gho_": "OAuth app token", "ghu_": "GitHub App user token",
         "ghs_": "GitHub App installation token", "ghr_": "refresh token"}


def _kind(secret: str) -> str:
    return next((kind for prefix, kind in KINDS.items() if secret.startswith(prefix)), "token")


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    kind = _kind(secret)
    unknown = list(CHECK.unknown)
    if secret.startswith("ghr_"):
        return Verification("unknown", scope={"kind": kind}, unknown=[*unknown, "liveness"],
                            reasons=["a refresh token: only the OAuth token exchange (a POST that "
                                     "mints a token) accepts it, so it is not checked"])
    path = "/rate_limit" if secret.startswith("ghs_") else "/user"
    check = f"GET {HOST}{path}"
    headers = {"Authorization": f"token {secret}", "Accept": "application/vnd.github+json"}
    answer = send(client, "GET", HOST, path, headers=headers)
    if isinstance(answer, Verification):
        answer.check, answer.unknown = check, unknown
        answer.scope["kind"] = kind
        return answer
    v = interpret(answer, secret, check, invalid=(401,), unknown_fields=unknown)
    v.scope["kind"] = kind
    if v.status != "live":
        return v
    scopes = answer.headers.get("x-oauth-scopes")
    if scopes is not None:
        v.scope["oauth_scopes"] = [s.strip() for s in scopes.split(",") if s.strip()]
    expires = answer.headers.get("github-authentication-token-expiration")
    if expires:
        v.scope["expires"] = expires
    body = body_json(answer)
    if path == "/user" and isinstance(body, dict):
        for field in ("login", "type"):
            if isinstance(body.get(field), str):
                v.scope[field] = body[field]
    return v
