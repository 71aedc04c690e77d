"""xAI: GET api.x.ai/v1/api-key (Bearer) -> name, ACLs, blocked/disabled flags, team and user ids."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.x.ai"
CHECK = Check(
    provider="xAI",
    requests=(f"GET {HOST}/v1/api-key",),
    status="200 live unless `api_key_blocked`/`api_key_disabled`/`team_blocked` (then invalid); "
           "400/401/403 invalid",
    restrictions=("api_key_blocked", "api_key_disabled", "team_blocked"),
    quota=("rate_limit",),
    scope=("acls", "team_id", "user_id", "name"),
    unknown=("balance (needs a separate management key)",),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/v1/api-key", secret, invalid=(400, 401, 403),
                         unknown_fields=CHECK.unknown)
    if v.status != "live" or not isinstance(body, dict):
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
