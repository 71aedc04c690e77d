"""Usage read-outs: what each key did, day by day, as the provider reports it.

``keyguard audit PROVIDER --usage`` adds a ``Usage`` to the audit's result. Provider modules
(``usage_openai``, ``usage_anthropic``, ``usage_gcp``, ``usage_openrouter``) stream report pages
into it; nothing keeps a page once its numbers are added, so memory grows with keys x days (one
small array per key and measure), not with the number of pages or results.

Numbers are only ever the provider's own. Where a provider does not report a grain (cost per key,
request counts for Anthropic, a daily series for OpenRouter), the read-out says what is shown
instead, and a read-out that failed is ``unknown`` with the reason, never zero.
"""
from __future__ import annotations

import math
import sys
from array import array
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping, TextIO
from urllib.parse import quote

from .fetch import ApiError, next_page_cursor, pages
from .model import AuditError, parse_time

if TYPE_CHECKING:
    from ..http import CredentialClient

DEFAULT_DAYS = 30
MAX_DAYS = 90
# A provider answer is read up to 4 MiB (keyguard.http): ask for fewer days a page as keys grow,
# about 1,500 key-days a page (a few hundred bytes per key, model and day).
KEY_DAYS_PER_PAGE = 1500


def days_per_page(keys: int, most: int = 7) -> str:
    return str(max(1, min(most, KEY_DAYS_PER_PAGE // max(1, keys))))


@dataclass
class Window:
    """``days`` UTC calendar days ending today (today is partial: up to ``now``)."""

    now: datetime
    days: int

    @property
    def first(self) -> date:
        return self.now.date() - timedelta(days=self.days - 1)

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=timezone.utc)

    def labels(self) -> list[str]:
        return [(self.first + timedelta(days=i)).isoformat() for i in range(self.days)]

    def index(self, when: datetime | None) -> int | None:
        """The day of the window a moment falls in, or None outside it."""
        if when is None:
            return None
        i = (when.astimezone(timezone.utc).date() - self.first).days
        return i if 0 <= i < self.days else None


@dataclass
class KeyUsage:
    """One key's days. Measures a provider does not report stay None (not zero)."""

    id: str
    name: str
    days: int
    hint: str | None = None
    project: str | None = None
    location: str | None = None
    created: str | None = None
    requests: array | None = None
    tokens: array | None = None
    cost: array | None = None
    models: dict[str, int] = field(default_factory=dict)  # model or API -> first day it was used
    model_totals: dict[str, float] = field(default_factory=dict)  # model or API -> primary measure
    totals: dict[str, Any] = field(default_factory=dict)  # running totals (OpenRouter), limits
    leaked: bool = False

    def _series(self, measure: str) -> array:
        series = getattr(self, measure)
        if series is None:
            series = array("d", bytes(8 * self.days))
            setattr(self, measure, series)
        return series

    def measured(self, *measures: str) -> None:
        """These measures were read: a key with no usage has zeros, not None (not reported)."""
        for measure in measures:
            self._series(measure)

    def add(self, day: int, *, requests: float = 0, tokens: float = 0, cost: float = 0,
            model: str | None = None, count_requests: bool = True, count_tokens: bool = True,
            count_cost: bool = False) -> None:
        if count_requests:
            self._series("requests")[day] += requests
        if count_tokens:
            self._series("tokens")[day] += tokens
        if count_cost:
            self._series("cost")[day] += cost
        if model and (requests or tokens):
            if model not in self.models or day < self.models[model]:
                self.models[model] = day
            self.model_totals[model] = self.model_totals.get(model, 0) + (requests or tokens)

    def series(self, measure: str) -> list[float] | None:
        values = getattr(self, measure)
        return None if values is None else list(values)

    def total(self, measure: str) -> float | None:
        values = getattr(self, measure)
        return None if values is None else sum(values)


@dataclass
class Usage:
    provider: str
    window: Window
    measure: str  # "requests" or "tokens": what the chart and the spike rule look at
    keys: dict[str, KeyUsage] = field(default_factory=dict)
    costs: dict[str, array] = field(default_factory=dict)  # a cost group ("project / line item") -> days
    cost_grain: str = "not read"
    currency: str | None = None
    readouts: dict[str, str] = field(default_factory=dict)  # read-out -> "ok" | "unknown (why)" | ...
    limits: list[dict[str, Any]] = field(default_factory=list)  # spend limits per project/workspace/key
    notes: list[str] = field(default_factory=list)
    marks: list[dict[str, Any]] = field(default_factory=list)  # anomalies to mark on a chart: key, day, rule
    daily: bool = True  # False: the provider gives running totals only (OpenRouter)

    def key(self, kid: str, name: str | None = None) -> KeyUsage:
        entry = self.keys.get(kid)
        if entry is None:
            entry = self.keys[kid] = KeyUsage(kid, name or kid, self.window.days,
                                              location=f"{self.provider}://usage/keys/{quote(kid, safe='')}")
        return entry

    def add_cost(self, group: str, day: int, amount: float) -> None:
        series = self.costs.get(group)
        if series is None:
            series = self.costs[group] = array("d", bytes(8 * self.window.days))
        series[day] += amount

    def ok(self, readout: str) -> None:
        self.readouts.setdefault(readout, "ok")

    def unknown(self, readout: str, why: object) -> None:
        self.readouts[readout] = f"unknown ({why})"

    def used_keys(self) -> list[KeyUsage]:
        """Keys with any usage, largest first by the primary measure."""
        def total(k: KeyUsage) -> float:
            if not self.daily:
                return float(k.totals.get("usage") or 0)
            return k.total(self.measure) or 0.0
        return sorted((k for k in self.keys.values() if total(k) > 0), key=lambda k: (-total(k), k.id))

    def as_dict(self) -> dict[str, Any]:
        keys = []
        labels = self.window.labels()
        for k in sorted(self.keys.values(), key=lambda k: k.id):
            entry: dict[str, Any] = {"id": k.id, "name": k.name, "hint": k.hint, "project": k.project,
                                     "location": k.location}
            if self.daily:
                for measure in ("requests", "tokens", "cost"):
                    entry[measure] = k.series(measure)
                entry["models"] = {m: {"first_day": labels[d], "total": k.model_totals.get(m, 0)}
                                   for m, d in sorted(k.models.items())}
            if k.totals:
                entry["totals"] = k.totals
            if k.leaked:
                entry["leaked"] = True
            keys.append(entry)
        return {
            "provider": self.provider, "days": labels if self.daily else [],
            "window": {"start": self.window.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "end": self.window.now.strftime("%Y-%m-%dT%H:%M:%SZ"), "days": self.window.days,
                       "last_day_partial": self.daily},
            "measure": self.measure, "daily": self.daily, "readouts": self.readouts,
            "cost_grain": self.cost_grain, "currency": self.currency,
            "costs": {g: list(v) for g, v in sorted(self.costs.items())},
            "limits": self.limits, "keys": keys, "notes": self.notes, "anomalies": self.marks,
        }


def stream_buckets(client: CredentialClient, host: str, path: str, *, headers: Mapping[str, str],
                   params: Mapping[str, Any], readout: str, usage: Usage, progress: Callable[[str], None],
                   each: Callable[[int, dict[str, Any]], None], start_field: str, rejected: str) -> None:
    """Stream the daily buckets of a usage or cost report (OpenAI, Anthropic: ``data`` of
    ``{start, results}``, ``has_more``/``next_page``) into ``each(day, result)``, page by page.

    A 401 is fatal (AuditError ``rejected``); any other failure makes the read-out ``unknown``, or
    ``partial`` when some days were read before it, and the audit goes on.
    """
    last_day: str | None = None
    labels = usage.window.labels()
    try:
        for bucket in pages(client, host, path, headers=headers, items="data", cursor=next_page_cursor,
                            params=params):
            day = usage.window.index(parse_time(bucket.get(start_field)))
            if day is None:
                continue
            last_day = labels[day]
            progress(f"{usage.provider} {readout}: {last_day}")
            for row in bucket.get("results") or ():
                if isinstance(row, dict):
                    each(day, row)
    except ApiError as exc:
        if exc.status == 401:
            raise AuditError(f"{rejected} ({exc})") from None
        if exc.status == 200:  # a body cut at the size limit is not JSON either
            exc = ApiError(exc.host, None, detail=str(exc).split(": ", 1)[-1]
                           + "; a page may exceed keyguard's 4 MiB answer limit")
        if last_day is None:
            usage.unknown(readout, exc)
        else:
            usage.readouts[readout] = f"partial (read up to {last_day}, then {exc}): totals are too low"
        return
    usage.ok(readout)


def number(value: Any) -> float:
    """A count or amount from a report: numbers and decimal strings; anything else is 0."""
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, (int, float)):
        value = float(value)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return 0.0
    return value if isinstance(value, float) and math.isfinite(value) else 0.0


def limit_label(limit: Mapping[str, Any]) -> str:
    """``project Web app``, ``key runaway``, ``organization``."""
    name = limit.get("name") or limit.get("id")
    return limit["scope"] if not name or name == limit["scope"] else f"{limit['scope']} {name}"


class Progress:
    """One line on a terminal's stderr, rewritten in place; silent when stderr is not a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.active = bool(getattr(self.stream, "isatty", lambda: False)())
        self.steps = 0

    def __call__(self, what: str) -> None:
        self.steps += 1
        if self.active:
            self.stream.write(f"\r\033[Kreading {what} [{self.steps}]")
            self.stream.flush()

    def done(self) -> None:
        if self.active:
            self.stream.write("\r\033[K")
            self.stream.flush()


def quiet(_: str) -> None:
    """A progress callback that says nothing (library use, tests)."""
