"""``keyguard audit anthropic``: workspaces and API keys of an Anthropic (Claude Console) organization.

The admin key comes from the environment variable ``ANTHROPIC_ADMIN_KEY`` only. Read-only GETs on
``https://api.anthropic.com`` with headers ``x-api-key`` and ``anthropic-version: 2023-06-01``,
documented shapes (https://platform.claude.com/docs/en/api/admin):

- ``GET /v1/organizations/api_keys?limit=100&after_id=ID`` -> ``{"data": [{"type": "api_key",
  "id": "apikey_...", "name", "partial_key_hint": "sk-ant-api03-R2D...igAA", "status":
  "active"|"inactive"|"archived"|"expired", "created_at" (RFC 3339), "created_by": {"id", "type"},
  "expires_at" (RFC 3339 or null: never expires), "workspace_id" (null: the default
  Workspace)}], "first_id", "last_id", "has_more"}``
- ``GET /v1/organizations/workspaces?limit=100&after_id=ID`` -> ``{"data": [{"type":
  "workspace", "id": "wrkspc_...", "name", "created_at", "archived_at", "display_color"}],
  "first_id", "last_id", "has_more"}``

What the stable Admin API does not tell, and the report therefore calls unknown: when a key was
last used (an API key has no last-used field), which admin keys exist (there is no list of admin
keys; keyguard can vouch only for the one it was given), and workspace spend limits (their
read endpoint is an early-access beta keyguard does not call).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import quote

from ..model import redact
from .fetch import ApiError, after_cursor, pages
from .model import (STALE_DAYS, AuditError, AuditFinding, AuditKey, AuditResult, AuditRule, days_between,
                    iso, key_from_environment, parse_time)

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.anthropic.com"
VERSION = "2023-06-01"
KEY_VARIABLE = "ANTHROPIC_ADMIN_KEY"
KEYS_CONSOLE = "https://console.anthropic.com/settings/keys"
ADMIN_PREFIX = "sk-ant-admin"
_PAGE = {"limit": "100"}

OLD_NO_EXPIRY = AuditRule(
    "anthropic-key-old-no-expiry", f"Anthropic API key over {STALE_DAYS} days old that never expires",
    "The key never expires and the Admin API does not report when it was last used, so nobody can "
    "tell from the API whether it is still needed. Keys nobody needs still work for whoever finds them.")
ADMIN_KEY_ALIVE = AuditRule(
    "anthropic-admin-key-alive", "Anthropic admin key alive",
    "An Admin API key manages the organization's members, workspaces and API keys; leaked, it hands "
    "over the organization. Keep few and revoke them when the work is done.")


def admin_key_from_environment(environ: Mapping[str, str] | None = None) -> str:
    return key_from_environment(
        KEY_VARIABLE, "create an Admin API key in the Claude Console (Settings -> Admin keys)", environ)


def audit(client: CredentialClient, admin_key: str, now: datetime | None = None) -> AuditResult:
    now = now or datetime.now(timezone.utc)
    headers = {"x-api-key": admin_key, "anthropic-version": VERSION}
    result = AuditResult("anthropic", "organization")
    try:
        workspaces = list(pages(client, HOST, "/v1/organizations/workspaces", headers=headers, items="data",
                                cursor=after_cursor("after_id"), params=_PAGE))
        keys = list(pages(client, HOST, "/v1/organizations/api_keys", headers=headers, items="data",
                          cursor=after_cursor("after_id"), params=_PAGE))
    except ApiError as exc:
        if exc.status == 401:
            raise AuditError(f"Anthropic rejected {KEY_VARIABLE} ({exc})") from None
        raise AuditError(f"cannot read the organization ({exc}); {KEY_VARIABLE} must be an Admin API key "
                         "(sk-ant-admin01-...)") from None
    names = {str(w.get("id")): str(w.get("name") or w.get("id")) for w in workspaces}
    active = [k for k in keys if k.get("status") == "active"]
    counts: dict[str, int] = {}
    for raw in active:
        counts[_workspace_of(raw)] = counts.get(_workspace_of(raw), 0) + 1
    result.projects = [{"id": wid, "name": name, "keys": counts.get(wid, 0)} for wid, name in sorted(names.items())]
    if "default" in counts:
        result.projects.insert(0, {"id": "default", "name": "Default Workspace", "keys": counts["default"]})
    for raw in sorted(active, key=lambda k: str(k.get("id"))):
        _key(raw, names, result, now)
    _this_admin_key(admin_key, result)
    inactive = len(keys) - len(active)
    result.account = f"organization ({len(result.projects)} workspaces, {len(active)} active keys)"
    result.notes.extend([
        f"{inactive} inactive, archived or expired key(s) listed and not audited" if inactive else "",
        "last use of each key: unknown (the Admin API's API key object has no last-used field; "
        "Console -> Usage can break usage down by key)",
        "workspace spend and rate limits: unknown (keyguard reads only the stable Admin API; check "
        "Console -> Settings -> Workspaces -> Limits)",
        "other admin keys: unknown (the Admin API does not list admin keys)",
    ])
    result.notes = [n for n in result.notes if n]
    return result


def _workspace_of(raw: dict[str, Any]) -> str:
    wid = raw.get("workspace_id")
    if not wid and isinstance(raw.get("scope"), dict):
        wid = raw["scope"].get("workspace_id")
    return str(wid) if wid else "default"


def _key(raw: dict[str, Any], workspaces: dict[str, str], result: AuditResult, now: datetime) -> None:
    kid = str(raw.get("id") or "")
    wid = _workspace_of(raw)
    hint = raw.get("partial_key_hint") if isinstance(raw.get("partial_key_hint"), str) else None
    creator = raw.get("created_by") if isinstance(raw.get("created_by"), dict) else {}
    key = AuditKey(
        "anthropic", kid, str(raw.get("name") or kid),
        f"anthropic://organization/workspaces/{quote(wid, safe='')}/api_keys/{quote(kid, safe='')}",
        f"/v1/organizations/api_keys/{quote(kid, safe='')}",
        project=wid, hint=hint, created=iso(raw.get("created_at")),
        owner=f"{creator.get('type', 'user')} {creator['id']}" if creator.get("id") else None,
        console=KEYS_CONSOLE, revoke=_disable(kid),
        details={"workspace": workspaces.get(wid, "Default Workspace" if wid == "default" else wid),
                 "expires": iso(raw.get("expires_at")), "status": raw.get("status")})
    result.keys.append(key)
    label = f"{key.name} ({hint}) in {key.details['workspace']}"
    if hint and hint.startswith(ADMIN_PREFIX):
        result.flag(AuditFinding(ADMIN_KEY_ALIVE, "medium", key.location, key.resource,
                                 f"admin key alive: {label}", ADMIN_KEY_ALIVE.description, _disable(kid),
                                 KEYS_CONSOLE, key))
        return
    age = days_between(parse_time(raw.get("created_at")), now)
    if raw.get("expires_at") is None and age is not None and age >= STALE_DAYS:
        result.flag(AuditFinding(
            OLD_NO_EXPIRY, "low", key.location, key.resource, f"{age}-day-old key that never expires: {label}",
            f"Created {key.created}, no expiry, created by {key.owner or 'unknown'}. "
            + OLD_NO_EXPIRY.description, _disable(kid) + "  (disables it; re-enable with \"active\")",
            KEYS_CONSOLE, key))


def _this_admin_key(admin_key: str, result: AuditResult) -> None:
    shown = redact(admin_key, (ADMIN_PREFIX + "01-", ADMIN_PREFIX))
    result.flag(AuditFinding(
        ADMIN_KEY_ALIVE, "low", "anthropic://organization/admin_api_keys/used-by-keyguard",
        "admin key in ANTHROPIC_ADMIN_KEY", f"admin key alive: the one keyguard used ({shown})",
        ADMIN_KEY_ALIVE.description + " The Admin API does not list admin keys, so keyguard can only "
        "vouch for the one it was given.",
        "Claude Console -> Settings -> Admin keys: delete it when the audit is done, if nothing else needs it",
        None))


def _disable(kid: str) -> str:
    return (f"curl -X POST https://{HOST}/v1/organizations/api_keys/{quote(kid, safe='')} "
            f"-H \"x-api-key: ${KEY_VARIABLE}\" -H 'anthropic-version: {VERSION}' "
            "-H 'content-type: application/json' -d '{\"status\": \"inactive\"}'")
