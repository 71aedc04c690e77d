"""Perplexity: POST api.perplexity.ai/chat/completions with a model that does not exist.

Why this POST is safe: the model name is deliberately invalid, so the request is refused
during validation (400/404/422) before any model runs — no tokens, nothing created. A bad key is
refused first (401). Never use a real model name here (that would be a paid generation).

Why not a GET: Perplexity documents ``GET /router/v1/models``, but not that it rejects a bad
key (a model list may well be public), so its 200 would prove nothing. A 403 is not documented
as a bad-key answer either (Perplexity sits behind a CDN that answers 403 to blocked clients),
so it is unknown. The 401 body may be an HTML page from Perplexity's own front server.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import bearer, interpret, send

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.perplexity.ai"
PATH = "/chat/completions"
INVALID_MODEL = "invalid-model-for-validation"
CHECK = Check(
    provider="Perplexity",
    requests=(f"POST {HOST}{PATH} (invalid model: no generation)",),
    status="400/404/422 for the invalid model live (past authentication); 401 invalid; "
           "403 unknown (not documented; a CDN block looks the same); 200 unknown (not the "
           "documented behaviour)",
    quota=("rate_limit",),
    unknown=("quota", "scope"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    check = f"POST {HOST}{PATH} (invalid model: no generation)"
    body = {"model": INVALID_MODEL, "messages": [{"role": "user", "content": "."}], "max_tokens": 1}
    answer = send(client, "POST", HOST, PATH, headers=bearer(secret), json=body)
    unknown = list(CHECK.unknown)
    if isinstance(answer, Verification):
        answer.check, answer.unknown = check, unknown
        return answer
    v = interpret(answer, secret, check, live=(400, 404, 422), unknown_fields=unknown,
                  html_ok=answer.status_code == 401)
    if v.status == "live":
        v.reasons = [f"{answer.status_code} for an invalid model: the key passed authentication"]
    elif answer.status_code == 200 and v.evidence.get("body") != "web page":
        v.reasons = ["200 for a model that should not exist: not the documented behaviour"]
    return v
