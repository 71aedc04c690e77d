"""``keyguard audit openrouter``: every API key's spend against its limit, from the management API.

The management key comes from ``OPENROUTER_MANAGEMENT_KEY`` only. Read-only GETs on
``https://openrouter.ai``, documented shapes (https://openrouter.ai/docs/api/api-reference/api-keys/list,
.../credits/get-credits):

- ``GET /api/v1/keys?offset=N`` (100 keys a page, newest first; disabled keys are left out) ->
  ``{"data": [{"hash", "name", "label", "disabled", "limit" (USD or null), "limit_remaining",
  "limit_reset" ("daily"|"weekly"|"monthly"|null), "usage", "usage_daily", "usage_weekly",
  "usage_monthly", "byok_usage", ..., "created_at", "updated_at", "expires_at", "last_used_at"}]}``
- ``GET /api/v1/credits`` -> ``{"data": {"total_credits", "total_usage"}}``

OpenRouter reports running totals (today, this week, this month, all time) per key, not a daily
series: the spike, new-key and new-model rules need one and are not applied; the limit rules and
"leaked key in use" are.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import quote

from .crossref import split_hint
from .fetch import ApiError, get_json, offset_cursor, pages
from .model import AuditError, AuditKey, AuditResult, iso, key_from_environment
from .usage import Usage, Window, number

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "openrouter.ai"
KEY_VARIABLE = "OPENROUTER_MANAGEMENT_KEY"
CONSOLE = "https://openrouter.ai/settings/keys"
PAGE_SIZE = 100
TOTALS = ("usage", "usage_daily", "usage_weekly", "usage_monthly", "byok_usage", "limit", "limit_remaining")
PERIOD_FIELD = {"daily": "usage_daily", "weekly": "usage_weekly", "monthly": "usage_monthly"}


def management_key_from_environment(environ: Mapping[str, str] | None = None) -> str:
    return key_from_environment(KEY_VARIABLE, f"create a management key at {CONSOLE} (Management keys)", environ)


def audit(client: CredentialClient, key: str, window: Window, progress: Callable[[str], None]) -> AuditResult:
    headers = {"Authorization": f"Bearer {key}"}
    result = AuditResult("openrouter", "account")
    usage = result.usage = Usage("openrouter", window, "usage", daily=False)
    try:
        listed = []
        for raw in pages(client, HOST, "/api/v1/keys", headers=headers, items="data",
                         cursor=offset_cursor("data", PAGE_SIZE)):
            listed.append(_key(raw, result, usage))
            if len(listed) % PAGE_SIZE == 0:
                progress(f"openrouter keys: {len(listed)}")
    except ApiError as exc:
        if exc.status in (401, 403):
            raise AuditError(f"OpenRouter rejected {KEY_VARIABLE} ({exc}); it must be a management key") from None
        raise AuditError(f"cannot list keys ({exc})") from None
    usage.ok("keys")
    _credits(client, headers, usage)
    result.account = f"account ({len(listed)} enabled key{'s' if len(listed) != 1 else ''})"
    usage.cost_grain = "per key: usage in USD as running totals (today, this week, this month, all time)"
    usage.currency = "USD"
    usage.notes.append("OpenRouter reports running totals, not a daily series: the spike, new-key and "
                       "new-model rules are not applied, and --days does not change what is shown")
    return result


def _key(raw: dict[str, Any], result: AuditResult, usage: Usage) -> str:
    kid = str(raw.get("hash") or "")
    path = f"/api/v1/keys/{quote(kid, safe='')}"
    label = raw.get("label") if isinstance(raw.get("label"), str) else None
    hint = label if label and label.startswith("sk-or-") and split_hint(label) else None
    name = str(raw.get("name") or label or kid[:12])
    key = AuditKey("openrouter", kid, name, f"openrouter://keys/{quote(kid, safe='')}", path, hint=hint,
                   created=iso(raw.get("created_at")), last_used=iso(raw.get("last_used_at")), console=CONSOLE,
                   revoke=(f"curl -X PATCH https://{HOST}{path} -H \"Authorization: Bearer ${KEY_VARIABLE}\" "
                           "-H 'Content-Type: application/json' -d '{\"disabled\": true}'"),
                   details={"expires": iso(raw.get("expires_at")), "limit_reset": raw.get("limit_reset")})
    result.keys.append(key)
    entry = usage.key(kid, name)
    entry.hint, entry.location, entry.created = hint, key.location, key.created
    entry.totals = {f: (number(raw.get(f)) if raw.get(f) is not None else None) for f in TOTALS}
    entry.totals.update({"limit_reset": raw.get("limit_reset"), "last_used_at": key.last_used})
    reset = raw.get("limit_reset") if raw.get("limit_reset") in PERIOD_FIELD else None
    spent = entry.totals.get(PERIOD_FIELD[reset]) if reset else entry.totals.get("usage")
    limit = entry.totals.get("limit")
    usage.limits.append({
        "scope": "key", "id": kid, "name": name, "location": key.location,
        "status": "enforced" if limit is not None else "none", "limit": limit,
        "period": {"daily": "day", "weekly": "week", "monthly": "month"}.get(reset or "", "all time"),
        "currency": "USD", "spent_month": spent, "spent_window": entry.totals.get("usage_monthly") or 0,
        "spent_text": "this month",
        "fix": (f"curl -X PATCH https://{HOST}{path} -H \"Authorization: Bearer ${KEY_VARIABLE}\" "
                "-H 'Content-Type: application/json' -d '{\"limit\": USD, \"limit_reset\": \"monthly\"}'"),
    })
    return kid


def _credits(client: CredentialClient, headers: Mapping[str, str], usage: Usage) -> None:
    try:
        body = get_json(client, HOST, "/api/v1/credits", headers=headers)
    except ApiError as exc:
        if exc.status == 401:
            raise AuditError(f"OpenRouter rejected {KEY_VARIABLE} ({exc})") from None
        usage.unknown("credits", exc)
        return
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    credits, used = data.get("total_credits"), data.get("total_usage")
    if credits is None or used is None:
        usage.unknown("credits", "answer without total_credits/total_usage")
        return
    usage.ok("credits")
    usage.limits.append({"scope": "account", "id": "credits", "name": "credits", "location": "openrouter://credits",
                         "status": "enforced", "limit": number(credits), "period": "all time", "currency": "USD",
                         "spent_month": number(used), "spent_window": 0,
                         "fix": "buy credits only after finding what spent them (https://openrouter.ai/settings/credits)"})
