"""Anomalies in a usage read-out, each a finding with the numbers behind it.

- spike: the last day far above the key's own trailing baseline. Robust: the median and the
  median absolute deviation (MAD) of the days before (from the key's first use on), so one
  earlier burst does not move the baseline. The allowed spread is the largest of 6 x 1.4826 x MAD (about six standard deviations
  for normal noise), a quarter of the median (a steady key may vary that much), and a floor in
  the measure's own units, so an idle key does not alarm on one request. Needs 7 days of history.
  A weekly cycle stays below it (the weekdays set the median); a slow ramp moves the median with
  it and is not a spike (it shows in the sparkline and against the spend limit).
- new key: usage from a key that was not used in the window's first 7 days or more.
- new model or API: a key that was already in use starts using a model (or Google API) it never
  used before in the window.
- leaked key in use: a key a scan report found leaked has usage in the window (critical).
- spend limit: a project, workspace or key whose spend this month reached its limit, or that
  spent in the window with no enforced limit.
"""
from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Sequence

from .model import AuditFinding, AuditKey, AuditResult, AuditRule
from .usage import KeyUsage, Usage, limit_label

MIN_HISTORY = 7  # days of baseline before a spike or a first use means anything
SPREAD_MADS = 6.0
MAD_TO_SIGMA = 1.4826
RELATIVE_FLOOR = 0.25
_PERIOD = {"month": "this month", "week": "this week", "day": "today", "all time": "in all"}
FLOORS = {"requests": 20.0, "tokens": 20_000.0}  # the smallest daily rise worth a finding

SPIKE = AuditRule(
    "usage-spike", "Key usage far above its own baseline",
    "The key's last day is far above its trailing median (robust to single bursts). A leaked key "
    "being drained, or a runaway job, looks like this.")
NEW_KEY = AuditRule(
    "usage-new-key", "Key used for the first time in the window",
    "The key had no usage in the first days of the window and now has some: a new deployment, "
    "or someone else using a key that sat idle.")
NEW_MODEL = AuditRule(
    "usage-new-model", "Key used a model or API it never used before",
    "A key that was already in use started calling a model or API it did not call earlier in the "
    "window. Keys are usually used by one application for a fixed set of models.")
LEAKED_IN_USE = AuditRule(
    "usage-leaked-key-in-use", "Leaked key is being used",
    "A key that a keyguard scan found leaked has usage in the window: revoke it now, then find out "
    "who used it.")
OVER_LIMIT = AuditRule(
    "usage-over-spend-limit", "Spend reached the limit",
    "This month's spend reached the hard limit: requests are refused (or will be) until the "
    "limit is raised or the month ends.")
NO_LIMIT = AuditRule(
    "usage-spend-without-limit", "Spend without an enforced limit",
    "Money was spent in the window and nothing caps it: a leaked key runs up the bill until "
    "someone notices.")


@dataclass(frozen=True)
class Spike:
    last: float
    baseline: float  # median of the days before
    mad: float
    threshold: float
    history: int


def spike(series: Sequence[float], measure: str = "requests") -> Spike | None:
    """The last day's rise above the trailing baseline, if it is one."""
    if len(series) < MIN_HISTORY + 1:
        return None
    history, last = list(series[:-1]), float(series[-1])
    mid = median(history)
    mad = median(abs(v - mid) for v in history)
    spread = max(SPREAD_MADS * MAD_TO_SIGMA * mad, RELATIVE_FLOOR * mid, FLOORS.get(measure, 1.0))
    threshold = mid + spread
    return Spike(last, mid, mad, threshold, len(history)) if last > threshold else None


def first_use(series: Sequence[float]) -> int | None:
    """The day a key was first used, if it sat idle for at least MIN_HISTORY days before."""
    for day, value in enumerate(series):
        if value > 0:
            return day if day >= MIN_HISTORY else None
    return None


def new_models(key: KeyUsage, series: Sequence[float]) -> dict[str, int]:
    """Models (or APIs) first used on a day after the key's own first day of use."""
    started = next((d for d, v in enumerate(series) if v > 0), None)
    if started is None:
        return {}
    return {m: d for m, d in key.models.items() if d > started and d >= MIN_HISTORY}


# -- findings ---------------------------------------------------------------------------------
def _amount(value: float, unit: str) -> str:
    if unit.isupper():  # a currency
        return f"{value:,.2f} {unit}"
    text = f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.2f}"
    return f"{text} {unit.removesuffix('s') if text == '1' else unit}"


def flag(result: AuditResult, usage: Usage) -> None:
    """Add every anomaly of ``usage`` to ``result`` (leaked keys need crossref.apply first)."""
    keys = {k.id: k for k in result.keys}
    labels = usage.window.labels()
    for key in usage.keys.values():
        audit_key = keys.get(key.id)
        if audit_key is not None and audit_key.leaked_in:
            key.leaked = True
        series = key.series(usage.measure) if usage.daily else None
        if key.leaked:
            _leaked(result, usage, key, audit_key, series, labels)
        if series is None:
            continue
        label = _label(key)
        unit = usage.measure
        started = next((d for d, v in enumerate(series) if v > 0), len(series))
        found = spike(series[started:], usage.measure)  # the baseline starts when the key did
        if found:
            severity = "high"
            _mark(usage, key, len(series) - 1, SPIKE, severity)
            result.flag(_finding(SPIKE, severity, key, audit_key, f"usage spike: {label}",
                                 f"{labels[-1]}{' (so far today)' if usage.daily else ''}: {_amount(found.last, unit)}; "
                                 f"baseline over the {found.history} days before: median "
                                 f"{_amount(found.baseline, unit)}/day, MAD {_amount(found.mad, unit)}; "
                                 f"alarm above {_amount(found.threshold, unit)}. " + SPIKE.description))
        first = first_use(series)
        if first is not None:
            total = sum(series)
            _mark(usage, key, first, NEW_KEY, "medium" if total >= FLOORS.get(unit, 1) else "low")
            created = f" The key was created {key.created}." if key.created else ""
            result.flag(_finding(NEW_KEY, "medium" if total >= FLOORS.get(unit, 1) else "low", key, audit_key,
                                 f"key first used {labels[first]}: {label}",
                                 f"No usage from {labels[0]} to {labels[first - 1]}, then "
                                 f"{_amount(total, unit)} from {labels[first]} on.{created} " + NEW_KEY.description))
        for model, day in sorted(new_models(key, series).items()):
            before = sorted(m for m, d in key.models.items() if d < day)
            severity = "high" if model == "generativelanguage.googleapis.com" else "medium"
            _mark(usage, key, day, NEW_MODEL, severity, model)
            result.flag(_finding(NEW_MODEL, severity, key, audit_key, f"new model or API for {label}: {model}",
                                 f"First use of {model} on {labels[day]} "
                                 f"({_amount(key.model_totals.get(model, 0), unit)} in the window); before "
                                 f"that the key used only {', '.join(before) or 'nothing'}. " + NEW_MODEL.description,
                                 suffix=model))
    for limit in usage.limits:
        _limit(result, limit)


def _leaked(result: AuditResult, usage: Usage, key: KeyUsage, audit_key: AuditKey | None,
            series: list[float] | None, labels: list[str]) -> None:
    if series is not None:
        used = [d for d, v in enumerate(series) if v > 0]
        if not used:
            return
        _mark(usage, key, used[-1], LEAKED_IN_USE, "critical")
        evidence = (f"{_amount(sum(series), usage.measure)} in the window, on {len(used)} day(s), last on "
                    f"{labels[used[-1]]}")
    else:
        today = float(key.totals.get("usage_daily") or 0)
        month = float(key.totals.get("usage_monthly") or 0)
        if today <= 0 and month <= 0:
            return
        evidence = f"spent {_amount(today, 'USD')} today, {_amount(month, 'USD')} this month"
    where = ""
    if audit_key is not None and audit_key.leaked_in:
        where = " Leaked at " + ", ".join(f"{s['path']}:{s['line']}" for s in audit_key.leaked_in[:5]) + "."
    result.flag(_finding(LEAKED_IN_USE, "critical", key, audit_key, f"leaked key is being used: {_label(key)}",
                         f"{evidence}.{where} " + LEAKED_IN_USE.description))


def _limit(result: AuditResult, limit: dict) -> None:
    what = limit_label(limit)
    currency = limit.get("currency") or "USD"
    spent_month, spent_window = limit.get("spent_month"), limit.get("spent_window") or 0
    status, cap = limit.get("status"), limit.get("limit")
    if status == "enforced" and cap is not None and spent_month is not None and spent_month >= cap:
        result.flag(AuditFinding(OVER_LIMIT, "high", limit["location"], limit["id"], f"spend limit reached: {what}",
                                 f"{_amount(spent_month, currency)} spent {_PERIOD.get(limit.get('period'), 'this period')} against a "
                                 f"limit of {_amount(cap, currency)}. " + OVER_LIMIT.description,
                                 limit.get("fix") or "raise the limit only after finding what spent it"))
    elif status == "none" and spent_window > 0:
        result.flag(AuditFinding(NO_LIMIT, "medium", limit["location"], limit["id"], f"spend without a limit: {what}",
                                 f"{_amount(spent_window, currency)} spent {limit.get('spent_text') or 'in the window'}; "
                                 "no enforced limit. "
                                 + NO_LIMIT.description, limit.get("fix") or "set a hard spend limit"))


def _mark(usage: Usage, key: KeyUsage, day: int, rule: AuditRule, severity: str, model: str | None = None) -> None:
    usage.marks.append({"key": key.id, "day": usage.window.labels()[day], "rule": rule.id, "severity": severity,
                        **({"model": model} if model else {})})


def _label(key: KeyUsage) -> str:
    hint = f" ({key.hint})" if key.hint else ""
    where = f" in {key.project}" if key.project else ""
    return f"{key.name}{hint}{where}"


def _finding(rule: AuditRule, severity: str, key: KeyUsage, audit_key: AuditKey | None, title: str,
             reason: str, suffix: str = "") -> AuditFinding:
    location = key.location or key.id
    if suffix:  # one finding per key and model: the fingerprint must tell them apart
        location = f"{location}#{suffix}"
    fix = (audit_key.revoke if audit_key is not None and audit_key.revoke and rule is LEAKED_IN_USE
           else "check who uses this key and for what; revoke it if nobody can say"
           + (f": {audit_key.revoke}" if audit_key is not None and audit_key.revoke else ""))
    return AuditFinding(rule, severity, location, audit_key.resource if audit_key else key.id, title, reason, fix,
                        audit_key.console if audit_key else None, audit_key)
