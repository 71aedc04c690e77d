"""Fireworks AI: GET api.fireworks.ai/v1/accounts (Bearer), then the first account's quotas.

The account record carries ``state`` and ``suspendState``; a suspended account's key is still
a live key (nothing says it is revoked), reported with that state. ``GET /v1/accounts/{id}/quotas``
lists ``quotas[{name, value, maxValue, usage}]``. Error bodies are undocumented; a suspended or
over-limit account was seen answering 412 ``PRECONDITION_FAILED`` (unknown).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .model import Check, Context, Verification
from ._common import bearer, body_json, expect_shape, optional_get, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.fireworks.ai"
ACCOUNT_ID = re.compile(r"accounts/([a-z0-9][a-z0-9-]{0,62})")
CHECK = Check(
    provider="Fireworks AI",
    requests=(f"GET {HOST}/v1/accounts", f"GET {HOST}/v1/accounts/<id>/quotas"),
    status="200 live; 401 invalid; 412 `PRECONDITION_FAILED` unknown (seen for suspended or "
           "over-limit accounts); other error bodies are undocumented; then the first "
           "account's quotas",
    restrictions=("state", "suspend_state"),
    quota=("rate_limit", "quotas"),
    scope=("accounts",),
    unknown=("key format (no documented prefix)", "error bodies", "permissions"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/v1/accounts", secret, unknown_fields=CHECK.unknown)
    if v.evidence.get("http_status") == 412:
        v.reasons = ["412 PRECONDITION_FAILED: seen for a suspended or over-limit account; "
                     "whether the key is live is unknown"]
    if not expect_shape(v, body, dict, "the account list"):
        return v
    accounts = [a for a in body.get("accounts", []) if isinstance(a, dict)] \
        if isinstance(body.get("accounts"), list) else []
    names = [a["name"] for a in accounts if isinstance(a.get("name"), str)]
    if names:
        v.scope["accounts"] = names[:10]
    if not accounts:
        return v
    first = accounts[0]
    for field, name in (("state", "state"), ("suspendState", "suspend_state")):
        if isinstance(first.get(field), str):
            v.restrictions[name] = first[field]
    suspended = str(first.get("suspendState", "")).upper()
    if suspended and suspended not in ("UNSUSPENDED", "SUSPEND_STATE_UNSPECIFIED"):
        v.reasons.append(f"the account is suspended ({first['suspendState']}): the key cannot be used now")
    found = ACCOUNT_ID.fullmatch(names[0]) if names else None
    if found:
        _quotas(v, secret, client, found.group(1))
    return v


def _quotas(v: Verification, secret: str, client: CredentialClient, account: str) -> None:
    answer = optional_get(client, HOST, f"/v1/accounts/{account}/quotas", bearer(secret))
    body: Any = body_json(answer) if not isinstance(answer, str) else None
    items = body.get("quotas") if isinstance(body, dict) else None
    if isinstance(answer, str) or answer.status_code != 200 or not isinstance(items, list):
        why = answer if isinstance(answer, str) else f"answered {answer.status_code}"
        v.unknown.append(f"quotas: the quota list {why}")
        return
    v.quota["quotas"] = [{k: q[k] for k in ("name", "value", "maxValue", "usage") if k in q}
                         for q in items[:20] if isinstance(q, dict)]
