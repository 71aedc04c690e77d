"""xAI: GET api.x.ai/v1/api-key (Bearer) -> name, ACLs, blocked/disabled flags, team and user ids.

xAI answers 403 "Your team ... has either used all available credits or reached its monthly
spending limit" to a valid key whose team cannot spend: that key is live and exhausted. Any other
403 is not documented, so it is unknown.

A management key (xai-token-) cannot read /v1/api-key; it asks the Management API for the API
keys of a team id that is all f's: 401 means the key is not valid, and an answer with gRPC code 7
(permission denied: the team is not the key's) means it authenticated (OSV-SCALIBR's validator,
in the facts file). Nothing is listed: the team does not exist.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import body_json, expect_shape, interpret, send, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.x.ai"
MANAGEMENT_HOST = "management-api.x.ai"
OTHER_HOSTS = (MANAGEMENT_HOST,)
MANAGEMENT_PATH = "/auth/teams/ffffffff-ffff-ffff-ffff-ffffffffffff/api-keys"  # no such team
CHECK = Check(
    provider="xAI",
    requests=(f"GET {HOST}/v1/api-key", f"GET {MANAGEMENT_HOST}/auth/teams/<all-f team id>/api-keys"),
    status="200 live unless `api_key_blocked`/`api_key_disabled`/`team_blocked` (then invalid); "
           "400/401 invalid; 403 \"used all available credits or reached its monthly spending "
           "limit\" live (exhausted); another 403 unknown. Management keys (xai-token-): 401 invalid; "
           "an answer with code 7 (not the key's team) live; anything else unknown",
    restrictions=("api_key_blocked", "api_key_disabled", "team_blocked"),
    quota=("rate_limit", "exhausted"),
    scope=("acls", "team_id", "user_id", "name", "kind"),
    unknown=("balance (needs a separate management key)",
             "a management key's team and permissions (the check names no real team)"),
    severity="critical: a live management key (it manages the team's keys and billing)",
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    if secret.startswith("xai-token-"):
        return _management_key(secret, client)
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


def _management_key(secret: str, client: CredentialClient) -> Verification:
    check = f"GET {MANAGEMENT_HOST}/auth/teams/<all-f team id>/api-keys"
    answer = send(client, "GET", MANAGEMENT_HOST, MANAGEMENT_PATH, headers={"Authorization": f"Bearer {secret}"})
    if isinstance(answer, Verification):
        answer.check, answer.unknown = check, list(CHECK.unknown)
        return answer
    v = interpret(answer, secret, check, live=(), invalid=(401,), unknown_fields=CHECK.unknown)
    body = body_json(answer)
    if answer.status_code != 401 and isinstance(body, dict) and body.get("code") == 7:
        v.status = "live"
        v.scope["kind"] = "management key"
        v.severity = "critical"  # like OpenAI's and Anthropic's admin keys
        v.reasons = ["the Management API authenticated the key and refused the made-up team (code 7): "
                     "a live management key, which manages its team's API keys and billing"]
    return v
