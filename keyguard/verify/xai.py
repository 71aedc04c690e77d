"""xAI: GET api.x.ai/v1/api-key (Bearer) -> name, ACLs, blocked/disabled flags, team and user ids.

xAI answers 403 "Your team ... has either used all available credits or reached its monthly
spending limit" to a valid key whose team cannot spend: that key is live and exhausted. Any other
403 is not documented, so it is unknown.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import expect_shape, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.x.ai"
CHECK = Check(
    provider="xAI",
    requests=(f"GET {HOST}/v1/api-key",),
    status="200 live unless `api_key_blocked`/`api_key_disabled`/`team_blocked` (then invalid); "
           "400/401 invalid; 403 \"used all available credits or reached its monthly spending "
           "limit\" live (exhausted); another 403 unknown",
    restrictions=("api_key_blocked", "api_key_disabled", "team_blocked"),
    quota=("rate_limit", "exhausted"),
    scope=("acls", "team_id", "user_id", "name"),
    unknown=("balance (needs a separate management key)",),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/v1/api-key", secret, invalid=(400, 401),
                         unknown_fields=CHECK.unknown)
    if v.evidence.get("http_status") == 403:
        said = " ".join(str(x) for x in (body.values() if isinstance(body, dict) else [body])).lower()
        if "credits" in said or "spending limit" in said:
            v.status = "live"
            v.quota["exhausted"] = "team credits or monthly spending limit"
            v.reasons = ["403: the key's team has used all its credits or reached its monthly "
                         "spending limit: a live key that cannot spend now"]
        return v
    if not expect_shape(v, body, dict, "the key's description"):
        return v
    if isinstance(body.get("acls"), list):
        v.scope["acls"] = body["acls"]
    for field in ("team_id", "user_id", "name"):
        if isinstance(body.get(field), str):
            v.scope[field] = body[field]
    flags = {f: body[f] for f in ("api_key_blocked", "api_key_disabled", "team_blocked") if f in body}
    v.restrictions.update(flags)
    blocked = [f for f, on in flags.items() if on is True]
    if blocked:
        v.status = "invalid"
        v.reasons = [f"the key exists but is unusable: {', '.join(blocked)}"]
    return v
