"""OpenAI usage and spend per key and day, from the organization Usage and Costs APIs.

Read-only GETs with the Admin key (``OPENAI_ADMIN_KEY``), documented shapes
(https://developers.openai.com/api/reference/resources/organization/subresources/usage):

- ``GET /v1/organization/usage/{completions,embeddings,moderations,images,audio_speeches,
  audio_transcriptions}?start_time=UNIX&bucket_width=1d&group_by=api_key_id&group_by=model&limit=7``
  -> ``{"object": "page", "data": [{"object": "bucket", "start_time", "end_time", "results":
  [{"object": "organization.usage.completions.result", "input_tokens", "output_tokens",
  "input_cached_tokens", "num_model_requests", "project_id", "user_id", "api_key_id", "model",
  ...}]}], "has_more", "next_page"}``; the next page is asked for with ``page=NEXT_PAGE``.
- ``GET /v1/organization/costs?start_time=UNIX&bucket_width=1d&group_by=project_id&group_by=line_item``
  -> buckets of ``{"object": "organization.costs.result", "amount": {"value", "currency"},
  "line_item", "project_id"}``. Per-key cost (``group_by=api_key_id``) is asked for too; where the
  API refuses it or answers without ``api_key_id``, cost is shown per project and line item only.
- Spend limits: ``openai.spend_limit`` (the audit's own reader).

Requests are counted from ``num_model_requests``; tokens are input + output tokens where the
endpoint reports them (images and audio report none: their requests are counted, tokens are not).
"""
from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import quote

from . import openai
from .model import AuditResult
from .usage import Usage, Window, days_per_page, number, stream_buckets

if TYPE_CHECKING:
    from ..http import CredentialClient

USAGE_KINDS = ("completions", "embeddings", "moderations", "images", "audio_speeches", "audio_transcriptions")
TOKEN_FIELDS = ("input_tokens", "output_tokens")
NO_KEY = "(no api_key_id)"  # usage the API attributes to no key (e.g. made in the dashboard)
_COST_BUCKETS = "31"


def read(client: CredentialClient, admin_key: str, result: AuditResult, window: Window,
         progress: Callable[[str], None]) -> Usage:
    headers = {"Authorization": f"Bearer {admin_key}"}
    usage = Usage("openai", window, "requests")
    for key in result.keys:
        if key.details.get("kind") == "project":
            entry = usage.key(key.id, key.name)
            entry.hint, entry.project, entry.location, entry.created = key.hint, key.project, key.location, key.created
    start = str(int(window.start.timestamp()))
    for kind in USAGE_KINDS:
        _usage(client, headers, kind, start, usage, progress)
    _costs(client, headers, start, usage, progress)
    if any(usage.readouts[f"usage/{kind}"] == "ok" for kind in USAGE_KINDS):
        for entry in usage.keys.values():  # read, and no usage: zeros, not "not reported"
            entry.measured("requests", "tokens")
    _limits(client, headers, result, usage)
    return usage


def _buckets(client: CredentialClient, headers: Mapping[str, str], path: str, params: dict[str, Any],
             readout: str, usage: Usage, progress: Callable[[str], None],
             each: Callable[[int, dict[str, Any]], None]) -> None:
    stream_buckets(client, openai.HOST, path, headers=headers, params=params, readout=readout, usage=usage,
                   progress=progress, each=each, start_field="start_time",
                   rejected=f"OpenAI rejected {openai.KEY_VARIABLE}")


def _usage(client: CredentialClient, headers: Mapping[str, str], kind: str, start: str, usage: Usage,
           progress: Callable[[str], None]) -> None:
    def each(day: int, row: dict[str, Any]) -> None:
        kid = row.get("api_key_id") if isinstance(row.get("api_key_id"), str) else NO_KEY
        tokens = sum(number(row.get(f)) for f in TOKEN_FIELDS)
        model = row.get("model") if isinstance(row.get("model"), str) else kind
        usage.key(kid).add(day, requests=number(row.get("num_model_requests")), tokens=tokens, model=model)

    params = {"start_time": start, "bucket_width": "1d", "group_by": ["api_key_id", "model"],
              "limit": days_per_page(len(usage.keys))}
    _buckets(client, headers, f"/v1/organization/usage/{kind}", params, f"usage/{kind}", usage, progress, each)


def _costs(client: CredentialClient, headers: Mapping[str, str], start: str, usage: Usage,
           progress: Callable[[str], None]) -> None:
    def each(day: int, row: dict[str, Any]) -> None:
        amount = row.get("amount") if isinstance(row.get("amount"), dict) else {}
        if isinstance(amount.get("currency"), str):
            usage.currency = amount["currency"].upper()
        project = row.get("project_id") or "(no project)"
        usage.add_cost(f"{project} / {row.get('line_item') or '(no line item)'}", day, number(amount.get("value")))

    base = {"start_time": start, "bucket_width": "1d", "limit": _COST_BUCKETS}
    _buckets(client, headers, "/v1/organization/costs", {**base, "group_by": ["project_id", "line_item"]},
             "costs", usage, progress, each)
    if usage.readouts["costs"] != "ok":
        usage.cost_grain = f"per project and line item: {usage.readouts['costs']}"
        return
    per_key: dict[str, array] = {}
    attributed = [False]

    def each_key(day: int, row: dict[str, Any]) -> None:
        if "api_key_id" in row:
            attributed[0] = True
        kid = row.get("api_key_id") if isinstance(row.get("api_key_id"), str) and row.get("api_key_id") else NO_KEY
        amount = row.get("amount") if isinstance(row.get("amount"), dict) else {}
        series = per_key.setdefault(kid, array("d", bytes(8 * usage.window.days)))
        series[day] += number(amount.get("value"))

    _buckets(client, headers, "/v1/organization/costs", {**base, "group_by": ["api_key_id"]},
             "costs by key", usage, progress, each_key)
    if usage.readouts.get("costs by key") == "ok" and attributed[0]:
        for kid, series in per_key.items():
            usage.key(kid).cost = series
        for entry in usage.keys.values():  # offered, and none for this key: zero, not "not reported"
            entry.measured("cost")
        usage.cost_grain = "per key (api_key_id), and per project and line item"
    else:
        why = usage.readouts.pop("costs by key", "ok")
        why = why if why != "ok" else "the answer carried no api_key_id"
        usage.cost_grain = f"per project and line item; cost per key is not offered ({why})"


def _limits(client: CredentialClient, headers: Mapping[str, str], result: AuditResult, usage: Usage) -> None:
    """Each project that spent in the window: its hard limit against this month's spend."""
    month = usage.window.now.replace(day=1).date()
    covered = usage.window.first <= month
    labels = usage.window.labels()
    spent: dict[str, tuple[float, float]] = {}  # project -> (window, month to date)
    for group, series in usage.costs.items():
        project = group.split(" / ", 1)[0]
        window_total, month_total = spent.get(project, (0.0, 0.0))
        month_part = sum(v for d, v in zip(labels, series) if d >= month.isoformat())
        spent[project] = (window_total + sum(series), month_total + month_part)
    names = {p["id"]: p.get("name") for p in result.projects}
    if spent:  # the organization's own hard limit caps every project together
        spent["(organization)"] = (sum(w for w, _ in spent.values()), sum(m for _, m in spent.values()))
    for project, (window_total, month_total) in sorted(spent.items()):
        if window_total <= 0 or project == "(no project)":
            continue
        org = project == "(organization)"
        path = "/v1/organization" if org else f"/v1/organization/projects/{quote(project, safe='')}"
        kind, cents, why = openai.spend_limit(client, headers, path + "/spend_limit")
        usage.limits.append({
            "scope": "organization" if org else "project", "id": "organization" if org else project,
            "name": None if org else names.get(project) or project,
            "location": "openai://organization" + path.removeprefix("/v1/organization"),
            "status": {"enforced": "enforced", "not enforced": "none"}.get(kind, f"unknown ({why})"),
            "limit": None if cents is None or kind != "enforced" else cents / 100,
            "period": "month", "currency": usage.currency or "USD",
            "spent_window": round(window_total, 6),
            "spent_month": round(month_total, 6) if covered else None,
        })
