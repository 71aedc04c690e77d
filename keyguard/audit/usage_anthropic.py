"""Anthropic usage per key and day, and cost per workspace and line item, from the Admin API.

Read-only GETs with the Admin key (``ANTHROPIC_ADMIN_KEY``), documented shapes
(https://platform.claude.com/docs/en/api/admin/usage_report, .../cost_report):

- ``GET /v1/organizations/usage_report/messages?starting_at=RFC3339&bucket_width=1d&group_by[]=api_key_id
  &group_by[]=model&limit=7`` -> ``{"data": [{"starting_at", "ending_at", "results":
  [{"uncached_input_tokens", "cache_creation": {"ephemeral_1h_input_tokens",
  "ephemeral_5m_input_tokens"}, "cache_read_input_tokens", "output_tokens", "server_tool_use":
  {"web_search_requests"}, "api_key_id", "workspace_id", "model", "service_tier", ...}]}],
  "has_more", "next_page"}``; ``page=NEXT_PAGE`` for the next page. The report counts tokens,
  not requests, so tokens are the measure here. Workbench usage has ``api_key_id`` null.
- ``GET /v1/organizations/cost_report?starting_at=...&group_by[]=workspace_id&group_by[]=description``
  -> buckets of ``{"currency": "USD", "amount": "123.45" (a decimal string in cents), "workspace_id",
  "description", "cost_type", "model", ...}``. Cost is reported per workspace and description,
  not per key; priority-tier costs are not in it.

Workspace spend limits are readable only through an early-access endpoint keyguard does not call,
so "over its limit / no limit" is unknown for Anthropic, and the report says so.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from . import anthropic
from .model import AuditResult
from .usage import Usage, Window, days_per_page, number, stream_buckets

if TYPE_CHECKING:
    from ..http import CredentialClient

NO_KEY = "(no api_key_id)"  # Workbench and other usage the report attributes to no key
_COST_BUCKETS = "31"


def _tokens(row: dict[str, Any]) -> float:
    cache = row.get("cache_creation") if isinstance(row.get("cache_creation"), dict) else {}
    return (number(row.get("uncached_input_tokens")) + number(row.get("cache_read_input_tokens"))
            + number(row.get("output_tokens")) + sum(number(v) for v in cache.values()))


def read(client: CredentialClient, admin_key: str, result: AuditResult, window: Window,
         progress: Callable[[str], None]) -> Usage:
    headers = {"x-api-key": admin_key, "anthropic-version": anthropic.VERSION}
    usage = Usage("anthropic", window, "tokens")
    for key in result.keys:
        entry = usage.key(key.id, key.name)
        entry.hint, entry.project, entry.location, entry.created = key.hint, key.project, key.location, key.created
    start = window.start.strftime("%Y-%m-%dT%H:%M:%SZ")
    rejected = f"Anthropic rejected {anthropic.KEY_VARIABLE}"

    def each_usage(day: int, row: dict[str, Any]) -> None:
        kid = row.get("api_key_id") if isinstance(row.get("api_key_id"), str) else NO_KEY
        entry = usage.key(kid)
        if entry.project is None and isinstance(row.get("workspace_id"), str):
            entry.project = row["workspace_id"]
        model = row.get("model") if isinstance(row.get("model"), str) else "(model not reported)"
        entry.add(day, tokens=_tokens(row), model=model, count_requests=False)

    stream_buckets(client, anthropic.HOST, "/v1/organizations/usage_report/messages", headers=headers,
                   params={"starting_at": start, "bucket_width": "1d", "group_by[]": ["api_key_id", "model"],
                           "limit": days_per_page(len(usage.keys))},
                   readout="usage report", usage=usage, progress=progress, each=each_usage,
                   start_field="starting_at", rejected=rejected)

    if usage.readouts["usage report"] == "ok":
        for entry in usage.keys.values():  # read, and no usage: zeros, not "not reported"
            entry.measured("tokens")

    def each_cost(day: int, row: dict[str, Any]) -> None:
        if isinstance(row.get("currency"), str):
            usage.currency = row["currency"].upper()
        workspace = row.get("workspace_id") or "default"
        # amounts are decimal strings in the currency's lowest unit: "123.45" USD is $1.2345
        usage.add_cost(f"{workspace} / {row.get('description') or '(no description)'}", day,
                       number(row.get("amount")) / 100)

    stream_buckets(client, anthropic.HOST, "/v1/organizations/cost_report", headers=headers,
                   params={"starting_at": start, "group_by[]": ["workspace_id", "description"],
                           "limit": _COST_BUCKETS},
                   readout="cost report", usage=usage, progress=progress, each=each_cost,
                   start_field="starting_at", rejected=rejected)
    state = usage.readouts["cost report"]
    usage.cost_grain = ("per workspace and description (line item); the cost report has no per-key cost"
                        + ("" if state == "ok" else f": {state}"))
    usage.notes.append("requests per key: not reported (the usage report counts tokens); tokens shown")
    usage.notes.append("cost excludes priority-tier usage (not in the cost report)")
    usage.notes.append("workspace spend limits: unknown (only an early-access endpoint reports them), "
                       "so no over-limit or no-limit finding for Anthropic")
    return usage
