"""The usage part of a text report: a table of keys with a sparkline of their days, costs at the
grain the provider reports them, spend limits, and which read-outs answered."""
from __future__ import annotations

from typing import Sequence

from .usage import KeyUsage, Usage, limit_label

BARS = "▁▂▃▄▅▆▇█"
MAX_SPARK = 45  # characters: longer windows are folded (each character the busiest of its days)


def sparkline(values: Sequence[float], width: int = MAX_SPARK) -> str:
    if not values:
        return ""
    step = -(-len(values) // width)  # ceiling division
    folded = [max(values[i:i + step]) for i in range(0, len(values), step)]
    top = max(folded)
    if top <= 0:
        return "·" * len(folded)
    return "".join("·" if v <= 0 else BARS[min(len(BARS) - 1, int(v / top * (len(BARS) - 1) + 0.5))]
                   for v in folded)


def quantity(value: float | None) -> str:
    if value is None:
        return "-"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def money(value: float | None, currency: str | None) -> str:
    return "-" if value is None else f"{value:,.2f} {currency or ''}".rstrip()


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def render(usage: Usage) -> list[str]:
    labels = usage.window.labels()
    out = [f"Usage {labels[0]} .. {labels[-1]} ({usage.window.days} days, UTC; the last day up to "
           f"{usage.window.now.strftime('%H:%M')})" if usage.daily else
           "Usage (running totals as the provider reports them; no daily series)"]
    used = usage.used_keys()
    if usage.daily:
        out.append(f"  per key and day: {usage.measure}"
                   + ("; cost per key in the last column" if any(k.cost is not None for k in used) else ""))
        out.append(f"  {'key':30} {'project':18} {'total':>8} {'last day':>8} {'peak':>8}  days")
        for key in used:
            out.append(_row(key, usage))
    else:
        out.append(f"  {'key':30} {'today':>9} {'week':>9} {'month':>9} {'total':>9} {'limit':>9} {'left':>9}")
        for key in used:
            t = key.totals
            out.append(f"  {_cut(_name(key), 30):30} " + " ".join(
                f"{quantity(t.get(f)) if t.get(f) is not None else '-':>9}"
                for f in ("usage_daily", "usage_weekly", "usage_monthly", "usage", "limit", "limit_remaining")))
    idle = len(usage.keys) - len(used)
    if idle:
        out.append(f"  {idle} key(s) with no usage in the window")
    out.append(f"  cost: {usage.cost_grain}")
    for group, series in sorted(usage.costs.items(), key=lambda g: -sum(g[1]))[:50]:
        out.append(f"    {_cut(group, 48):48} {money(sum(series), usage.currency):>14}  {sparkline(series)}")
    if len(usage.costs) > 50:
        out.append(f"    ... {len(usage.costs) - 50} smaller cost group(s) in the JSON report")
    for limit in usage.limits:
        spent = limit.get("spent_month")
        out.append(f"  limit {limit_label(limit)}: {limit['status']}"
                   + (f", {money(limit['limit'], limit.get('currency'))}/{limit.get('period') or 'period'}"
                      if limit.get("limit") is not None else "")
                   + (f", spent this {limit.get('period') or 'period'} {money(spent, limit.get('currency'))}"
                      if spent is not None else ""))
    for readout, state in usage.readouts.items():
        out.append(f"  read-out {readout}: {state}")
    for note in usage.notes:
        out.append(f"  note: {note}")
    return out + [""]


def _name(key: KeyUsage) -> str:
    return f"{key.name} ({key.hint})" if key.hint else key.name


def _row(key: KeyUsage, usage: Usage) -> str:
    series = key.series(usage.measure) or []
    cost = key.total("cost")
    return (f"  {_cut(_name(key), 30):30} {_cut(key.project or '-', 18):18} {quantity(sum(series)):>8} "
            f"{quantity(series[-1] if series else None):>8} {quantity(max(series) if series else None):>8}  "
            f"{sparkline(series)}" + (f"  {money(cost, usage.currency)}" if cost is not None else "")
            + ("  LEAKED" if key.leaked else ""))
