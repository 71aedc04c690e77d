"""``keyguard audit openai``: projects, project API keys and admin keys of an OpenAI organization.

The admin key comes from the environment variable ``OPENAI_ADMIN_KEY`` only (never a flag: flags
land in shell history and process lists). Read-only GETs on ``https://api.openai.com``, with the
documented shapes (https://developers.openai.com/api/reference/resources/organization):

- ``GET /v1/organization/projects?limit=100&after=ID`` -> ``{"object": "list", "data":
  [{"id", "object": "organization.project", "name", "created_at", "archived_at", "status"}],
  "first_id", "last_id", "has_more"}``
- ``GET /v1/organization/projects/{id}/api_keys?owner_project_access=any`` -> ``data`` of
  ``{"id", "name", "redacted_value": "sk-abc...def", "created_at", "last_used_at" (unix seconds or
  null), "owner": {"type": "user"|"service_account", "user"|"service_account": {...}},
  "owner_project_access": "active"|"inactive"}``; ``any`` lists every enabled key, where the
  default visibility "may exclude some enabled keys".
- ``GET /v1/organization/admin_api_keys`` -> ``data`` of ``{"id", "name", "redacted_value":
  "sk-admin...def", "created_at", "last_used_at", "expires_at", "owner"}``
- ``GET /v1/organization/projects/{id}/spend_limit`` and ``/v1/organization/spend_limit`` ->
  ``{"object": "project.spend_limit", "threshold_amount" (cents), "currency": "USD", "interval":
  "month", "enforcement": {"status": "inactive"|"enforcing"}}``
- ``GET /v1/organization/projects/{id}/rate_limits`` -> ``data`` of ``{"object":
  "project.rate_limit", "model", "max_requests_per_1_minute", "max_tokens_per_1_minute", ...}``:
  per-model throughput caps, not a budget; reported, never flagged.

Where an endpoint does not answer (older organizations, missing scopes), the report says
"unknown" and why, rather than guessing.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import quote

from .crossref import split_hint
from .fetch import ApiError, after_cursor, get_json, pages
from .model import (STALE_DAYS, AuditError, AuditFinding, AuditKey, AuditResult, AuditRule, days_between,
                    iso, key_from_environment, parse_time)

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.openai.com"
KEY_VARIABLE = "OPENAI_ADMIN_KEY"
KEYS_CONSOLE = "https://platform.openai.com/settings/organization/api-keys"
ADMIN_CONSOLE = "https://platform.openai.com/settings/organization/admin-keys"
LIMITS_CONSOLE = "https://platform.openai.com/settings/organization/limits"
_PAGE = {"limit": "100"}

ADMIN_KEY_ALIVE = AuditRule(
    "openai-admin-key-alive", "OpenAI admin key alive",
    "An Admin API key manages the organization's users, projects and API keys. Each one alive is a "
    "key that, leaked, hands over the organization; keep few, with an expiry, and revoke unused ones.")
KEY_UNUSED = AuditRule(
    "openai-key-unused", f"OpenAI API key unused for {STALE_DAYS}+ days",
    "A key nobody uses still works for whoever finds it. Revoke keys that are not used.")
KEY_OWNER_GONE = AuditRule(
    "openai-key-owner-without-access", "OpenAI API key whose owner lost access to its project",
    "The key is still enabled, but its owner no longer has access to the project: nobody "
    "answerable for it is left.")
NO_HARD_LIMIT = AuditRule(
    "openai-project-no-hard-spend-limit", "OpenAI project without an enforced spend limit",
    "Nothing stops spend in this project: a leaked key runs up the bill until someone notices.")


def admin_key_from_environment(environ: Mapping[str, str] | None = None) -> str:
    return key_from_environment(KEY_VARIABLE, f"create an Admin API key at {ADMIN_CONSOLE}", environ)


def audit(client: CredentialClient, admin_key: str, now: datetime | None = None) -> AuditResult:
    now = now or datetime.now(timezone.utc)
    headers = {"Authorization": f"Bearer {admin_key}"}
    result = AuditResult("openai", "organization")
    try:
        projects = list(pages(client, HOST, "/v1/organization/projects", headers=headers, items="data",
                              cursor=after_cursor("after"), params=_PAGE))
    except ApiError as exc:
        if exc.status == 401:
            raise AuditError(f"OpenAI rejected {KEY_VARIABLE} ({exc})") from None
        raise AuditError(f"cannot list projects ({exc}); {KEY_VARIABLE} must be an Admin API key "
                         "of an organization owner") from None
    org_limit = spend_limit(client, headers, "/v1/organization/spend_limit")
    _admin_keys(client, headers, admin_key, result, now)
    unknown_limits: list[str] = []
    for project in sorted(projects, key=lambda p: str(p.get("id"))):
        pid = project.get("id")
        if isinstance(pid, str) and pid:
            _project(client, headers, project, org_limit, result, now, unknown_limits)
    if unknown_limits:
        result.notes.append(f"spend limits unknown for {len(unknown_limits)} project(s): "
                            + "; ".join(unknown_limits[:5]))
    result.account = f"organization ({len(result.projects)} project{'s' if len(result.projects) != 1 else ''})"
    return result


# -- admin keys -------------------------------------------------------------------------------
def _admin_keys(client: CredentialClient, headers: Mapping[str, str], admin_key: str,
                result: AuditResult, now: datetime) -> None:
    try:
        listed = list(pages(client, HOST, "/v1/organization/admin_api_keys", headers=headers,
                            items="data", cursor=after_cursor("after"), params=_PAGE))
    except ApiError as exc:
        if exc.status == 401:
            raise AuditError(f"OpenAI rejected {KEY_VARIABLE} ({exc})") from None
        result.notes.append(f"admin keys: unknown ({exc})")
        return
    for raw in listed:
        kid = str(raw.get("id") or "")
        hint = raw.get("redacted_value") if isinstance(raw.get("redacted_value"), str) else None
        ours = _is_this_key(hint, admin_key)
        path = f"/v1/organization/admin_api_keys/{quote(kid, safe='')}"
        key = AuditKey(
            "openai", kid, str(raw.get("name") or kid), _location(path),
            path, hint=hint, created=iso(raw.get("created_at")), last_used=iso(raw.get("last_used_at")),
            owner=_owner_name(raw.get("owner")), console=ADMIN_CONSOLE, revoke=_curl("DELETE", path),
            details={"kind": "admin", "expires": iso(raw.get("expires_at")), "used_by_this_audit": ours})
        result.keys.append(key)
        stale = _staleness(raw, now)
        expires = parse_time(raw.get("expires_at"))
        severity = "high" if stale else ("medium" if expires is None else "low")
        facts = [f"owner {key.owner or 'unknown'}", f"created {key.created or 'unknown'}",
                 f"last used {key.last_used or 'never'}", f"expires {iso(raw.get('expires_at')) or 'never'}"]
        why = ADMIN_KEY_ALIVE.description + " " + "; ".join(facts) + "."
        if stale:
            why += f" {stale[0].upper()}{stale[1:]}."
        if ours:
            why += " This is the key keyguard used for this audit."
        fix = key.revoke + ("  (after this audit, if it is not needed)" if ours else "")
        result.flag(AuditFinding(ADMIN_KEY_ALIVE, severity, key.location, key.resource,
                                 f"admin key alive: {key.name} ({hint})", why, fix, ADMIN_CONSOLE, key))


def _is_this_key(hint: str | None, admin_key: str) -> bool:
    parts = split_hint(hint)
    return bool(parts) and admin_key.startswith(parts[0]) and admin_key.endswith(parts[1])


# -- projects ---------------------------------------------------------------------------------
def _project(client: CredentialClient, headers: Mapping[str, str], project: dict[str, Any],
             org_limit: tuple[str, int | None, str], result: AuditResult, now: datetime,
             unknown_limits: list[str]) -> None:
    pid = project["id"]
    base = f"/v1/organization/projects/{quote(pid, safe='')}"
    try:
        keys = list(pages(client, HOST, base + "/api_keys", headers=headers, items="data",
                          cursor=after_cursor("after"), params={**_PAGE, "owner_project_access": "any"}))
    except ApiError as exc:
        if exc.status == 401:
            raise AuditError(f"OpenAI rejected {KEY_VARIABLE} ({exc})") from None
        result.skip(pid, str(exc))
        return
    limit = spend_limit(client, headers, base + "/spend_limit")
    rate_limits = _rate_limit_count(client, headers, base + "/rate_limits")
    name = str(project.get("name") or pid)
    result.projects.append({"id": pid, "name": name, "status": project.get("status"), "keys": len(keys),
                            "spend_limit": _limit_text(limit), "rate_limits": rate_limits})
    for raw in sorted(keys, key=lambda k: str(k.get("id"))):
        _project_key(pid, name, raw, result, now)
    kind, amount, why = limit
    if kind == "unknown":
        unknown_limits.append(f"{pid}: {why}")
    elif kind == "not enforced":
        org_kind, org_amount, _ = org_limit
        capped = org_kind == "enforced"
        result.flag(AuditFinding(
            NO_HARD_LIMIT, "low" if capped else "medium", _location(base), base,
            f"no enforced spend limit on project {name} ({pid})",
            f"spend_limit answered threshold_amount={amount}, enforcement.status=inactive: no hard cap on "
            "this project. " + (f"The organization's hard limit ({_dollars(org_amount)}/month) still applies."
                                if capped else "The organization has no enforced hard limit either."
                                if org_kind == "not enforced" else
                                f"Whether the organization has one is {_limit_text(org_limit)}."),
            _curl("POST", base + "/spend_limit",
                  '{"threshold_amount": CENTS_PER_MONTH, "currency": "USD", "interval": "month"}')
            + "  (or Project settings -> Limits -> Spend -> Enforce a hard limit)", LIMITS_CONSOLE))


def _project_key(pid: str, project_name: str, raw: dict[str, Any], result: AuditResult, now: datetime) -> None:
    kid = str(raw.get("id") or "")
    hint = raw.get("redacted_value") if isinstance(raw.get("redacted_value"), str) else None
    path = f"/v1/organization/projects/{quote(pid, safe='')}/api_keys/{quote(kid, safe='')}"
    key = AuditKey(
        "openai", kid, str(raw.get("name") or kid), _location(path),
        path, project=pid, hint=hint, created=iso(raw.get("created_at")),
        last_used=iso(raw.get("last_used_at")), owner=_owner_name(raw.get("owner")),
        console=KEYS_CONSOLE, revoke=_curl("DELETE", path),
        details={"kind": "project", "project_name": project_name,
                 "owner_project_access": raw.get("owner_project_access")})
    result.keys.append(key)
    label = f"{key.name} ({hint}) in project {project_name}"
    stale = _staleness(raw, now)
    if stale:
        result.flag(AuditFinding(KEY_UNUSED, "medium", key.location, path, f"unused key: {label}",
                                 f"{stale[0].upper()}{stale[1:]}; owner {key.owner or 'unknown'}. "
                                 + KEY_UNUSED.description, key.revoke or "", KEYS_CONSOLE, key))
    if raw.get("owner_project_access") == "inactive":
        result.flag(AuditFinding(KEY_OWNER_GONE, "medium", key.location, path,
                                 f"key of an owner without project access: {label}",
                                 f"owner_project_access is inactive for {key.owner or 'its owner'}. "
                                 + KEY_OWNER_GONE.description, key.revoke or "", KEYS_CONSOLE, key))


def _staleness(raw: dict[str, Any], now: datetime) -> str | None:
    """Why a key counts as unused for STALE_DAYS, or None."""
    last = parse_time(raw.get("last_used_at"))
    if last is not None:
        days = days_between(last, now)
        return f"last used {days} days ago" if days is not None and days >= STALE_DAYS else None
    age = days_between(parse_time(raw.get("created_at")), now)
    return f"never used in the {age} days since it was created" if age is not None and age >= STALE_DAYS else None


def spend_limit(client: CredentialClient, headers: Mapping[str, str], path: str) -> tuple[str, int | None, str]:
    """("enforced" | "not enforced" | "unknown", threshold in cents, why unknown)."""
    try:
        body = get_json(client, HOST, path, headers=headers)
    except ApiError as exc:
        if exc.status == 401:
            raise AuditError(f"OpenAI rejected {KEY_VARIABLE} ({exc})") from None
        return "unknown", None, str(exc)
    amount = body.get("threshold_amount")
    amount = amount if isinstance(amount, int) and not isinstance(amount, bool) else None
    status = (body.get("enforcement") or {}).get("status") if isinstance(body.get("enforcement"), dict) else None
    if status == "enforcing" and amount:
        return "enforced", amount, ""
    if status == "inactive":
        return "not enforced", amount, ""
    return "unknown", amount, f"unexpected answer (enforcement.status {str(status)[:20]!r})"


def _rate_limit_count(client: CredentialClient, headers: Mapping[str, str], path: str) -> int | str:
    try:
        return sum(1 for _ in pages(client, HOST, path, headers=headers, items="data",
                                    cursor=after_cursor("after"), params=_PAGE))
    except ApiError as exc:
        if exc.status == 401:
            raise AuditError(f"OpenAI rejected {KEY_VARIABLE} ({exc})") from None
        return f"unknown ({exc})"


def _limit_text(limit: tuple[str, int | None, str]) -> str:
    kind, amount, why = limit
    if kind == "enforced":
        return f"hard limit {_dollars(amount)}/month"
    if kind == "not enforced":
        return "no enforced hard limit" + (f" (threshold {_dollars(amount)}, enforcement inactive)" if amount else "")
    return f"unknown ({why})"


def _dollars(cents: int | None) -> str:
    return "unknown" if cents is None else f"${cents / 100:,.2f}"


def _owner_name(owner: Any) -> str | None:
    if not isinstance(owner, dict):
        return None
    for kind in ("user", "service_account"):
        who = owner.get(kind)
        if isinstance(who, dict):
            name = who.get("email") or who.get("name") or who.get("id")
            return f"{'service account ' if kind == 'service_account' else ''}{name}"
    return str(owner.get("name") or owner.get("id") or "") or None  # admin keys: the owner itself


def _location(path: str) -> str:
    """``/v1/organization/projects/P`` -> ``openai://organization/projects/P`` (SARIF location)."""
    return "openai://organization" + path.removeprefix("/v1/organization")


def _curl(method: str, path: str, body: str | None = None) -> str:
    command = f"curl -X {method} https://{HOST}{path} -H \"Authorization: Bearer ${KEY_VARIABLE}\""
    if body:
        command += f" -H 'Content-Type: application/json' -d '{body}'"
    return command
