"""``--format html``: one self-contained page to open when the bill looks wrong.

Everything is inline: the chart is SVG drawn here (one ``polyline.series`` per key, or one bar per
key when the provider gives running totals only), anomalies are circles on their key's line, and a
small inline script only toggles series from the legend. A Content-Security-Policy forbids every
fetch, so the file loads nothing, wherever it is opened. The script reports its own errors into
the page (``#errors``), where a person, or a test in a headless browser, can see them.

Every name and value from a provider is HTML-escaped.
"""
from __future__ import annotations

from html import escape
from typing import Any

from .. import __version__
from .model import AuditResult
from .report import ordered, summary
from .usage import KeyUsage, Usage, limit_label
from .usage_report import money, quantity

MAX_SERIES = 200  # lines drawn; every key is still in the table
WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 960, 340, 64, 40, 12
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
SEVERITY_COLORS = {"critical": "#b00020", "high": "#d9480f", "medium": "#e8a400", "low": "#1c7ed6"}

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d1d1f;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%;margin:4px 0}td,th{border-bottom:1px solid #e3e3e3;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.sev{font-weight:600;text-transform:uppercase;font-size:12px}.muted{color:#666}#errors{color:#b00020}
.legend span{display:inline-block;margin:2px 10px 2px 0;cursor:pointer}.legend i{display:inline-block;width:12px;
height:12px;margin-right:4px;vertical-align:-1px}.legend .off{opacity:.35}svg{max-width:100%;height:auto}
.series{fill:none;stroke-width:1.6}.series.hidden,.anomaly.hidden{display:none}.axis{stroke:#999}
.tick{font-size:11px;fill:#555}code{font-size:12px;word-break:break-all}
"""

SCRIPT = """
window.onerror = function (message, source, line) {
  var box = document.getElementById('errors');
  box.textContent += 'script error: ' + message + ' (line ' + line + ')\\n';
};
(function () {
  var legend = document.querySelectorAll('.legend span[data-key]');
  legend.forEach(function (item) {
    item.addEventListener('click', function () {
      var key = item.getAttribute('data-key');
      item.classList.toggle('off');
      document.querySelectorAll('[data-key="' + CSS.escape(key) + '"]').forEach(function (el) {
        if (el !== item) { el.classList.toggle('hidden'); }
      });
    });
  });
  document.documentElement.setAttribute('data-ready', String(document.querySelectorAll('.series').length));
})();
"""


def _color(i: int) -> str:
    return f"hsl({(i * 137.508) % 360:.0f},62%,42%)"


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def render_html(result: AuditResult) -> str:
    s = summary(result)
    usage: Usage | None = result.usage
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>keyguard audit {_e(result.provider)}</title><style>{STYLE}</style></head><body>",
        f"<h1>keyguard audit {_e(result.provider)}: {_e(result.account)}</h1>",
        f'<p class="muted">{s["findings"]} finding(s); {s["keys"]} key(s); keyguard {_e(__version__)}'
        + (f"; {_e(usage.window.labels()[0])} to {_e(usage.window.now.strftime('%Y-%m-%d %H:%M'))} UTC"
           if usage is not None else "") + "</p>",
        '<pre id="errors"></pre>',
    ]
    if usage is not None:
        parts += _chart(usage)
    parts += _findings(result)
    if usage is not None:
        parts += _keys_table(usage) + _costs(usage)
    notes = [f"skipped {x['project']}: {x['reason']}" for x in result.skipped] + result.notes
    if usage is not None:
        notes += [f"read-out {k}: {v}" for k, v in usage.readouts.items()] + usage.notes
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def _chart(usage: Usage) -> list[str]:
    keys = usage.used_keys()
    drawn, rest = keys[:MAX_SERIES], keys[MAX_SERIES:]
    colors = {k.id: _color(i) for i, k in enumerate(drawn)}
    out = [f"<h2>{'Usage per key and day' if usage.daily else 'Usage per key'} ({_e(usage.measure if usage.daily else 'USD, running totals')})</h2>"]
    svg = _lines(usage, drawn, colors) if usage.daily else _bars(drawn, colors)
    out.append(svg)
    out.append('<div class="legend">' + "".join(
        f'<span data-key="{_e(k.id)}"><i style="background:{colors[k.id]}"></i>{_e(k.name)}'
        f'{" (" + _e(k.hint) + ")" if k.hint else ""}</span>' for k in drawn) + "</div>")
    if rest:
        out.append(f'<p class="muted">{len(rest)} smaller key(s) not drawn; all are in the table below.</p>')
    if not keys:
        out.append('<p class="muted">No key has usage in the window.</p>')
    return out


def _lines(usage: Usage, keys: list[KeyUsage], colors: dict[str, str]) -> str:
    labels = usage.window.labels()
    days = len(labels)
    top = max((max(k.series(usage.measure) or [0]) for k in keys), default=0) or 1
    plot_w, plot_h = WIDTH - PAD_LEFT - 16, HEIGHT - PAD_BOTTOM - PAD_TOP

    def x(day: int) -> float:
        return PAD_LEFT + (plot_w * day / (days - 1) if days > 1 else plot_w / 2)

    def y(value: float) -> float:
        return PAD_TOP + plot_h * (1 - value / top)

    out = [f'<svg id="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{_e(usage.measure)} per key and day">',
           f'<line class="axis" x1="{PAD_LEFT}" y1="{y(0):.1f}" x2="{WIDTH - 16}" y2="{y(0):.1f}"/>',
           f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{y(0):.1f}"/>']
    for value in (0, top / 2, top):
        out.append(f'<text class="tick" x="{PAD_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{_e(quantity(value))}</text>')
    for day in sorted({0, days // 2, days - 1}):
        anchor = "start" if day == 0 else "end" if day == days - 1 else "middle"
        out.append(f'<text class="tick" x="{x(day):.1f}" y="{HEIGHT - 14}" text-anchor="{anchor}">{_e(labels[day])}</text>')
    index = {label: i for i, label in enumerate(labels)}
    for key in keys:
        series = key.series(usage.measure) or []
        points = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in enumerate(series))
        out.append(f'<polyline class="series" data-key="{_e(key.id)}" stroke="{colors[key.id]}" points="{points}">'
                   f"<title>{_e(key.name)}: {_e(quantity(sum(series)))} {_e(usage.measure)}</title></polyline>")
    for mark in usage.marks:
        key = usage.keys.get(mark["key"])
        if key is None or key.id not in colors or mark["day"] not in index:
            continue
        day = index[mark["day"]]
        value = (key.series(usage.measure) or [0] * days)[day]
        out.append(f'<circle class="anomaly" data-key="{_e(key.id)}" data-rule="{_e(mark["rule"])}" cx="{x(day):.1f}" '
                   f'cy="{y(value):.1f}" r="6" fill="none" stroke="{SEVERITY_COLORS.get(mark["severity"], "#000")}" '
                   f'stroke-width="2.5"><title>{_e(mark["rule"])} ({_e(mark["severity"])}): {_e(key.name)} '
                   f'{_e(mark["day"])}{" " + _e(mark["model"]) if mark.get("model") else ""}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def _bars(keys: list[KeyUsage], colors: dict[str, str]) -> str:
    """Providers without a daily series (OpenRouter): one bar per key, its total usage, and its limit."""
    row = 22
    height = max(row * len(keys) + 20, 60)
    top = max((max(float(k.totals.get("usage") or 0), float(k.totals.get("limit") or 0)) for k in keys), default=0) or 1
    plot_w = WIDTH - 260
    out = [f'<svg id="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="usage per key">']
    for i, key in enumerate(keys):
        used = float(key.totals.get("usage") or 0)
        y = 10 + i * row
        out.append(f'<text class="tick" x="236" y="{y + 14}" text-anchor="end">{_e(key.name[:36])}</text>')
        out.append(f'<rect class="series" data-key="{_e(key.id)}" x="240" y="{y + 3}" height="14" '
                   f'width="{max(plot_w * used / top, 1):.1f}" fill="{colors[key.id]}"><title>{_e(key.name)}: '
                   f'{_e(money(used, "USD"))}</title></rect>')
        if key.totals.get("limit") is not None:
            lx = 240 + plot_w * float(key.totals["limit"]) / top
            out.append(f'<line class="axis" x1="{lx:.1f}" y1="{y}" x2="{lx:.1f}" y2="{y + 20}" stroke-width="2"/>')
    out.append("</svg>")
    return "".join(out)


def _findings(result: AuditResult) -> list[str]:
    rows = []
    for f in ordered(result):
        rows.append(f'<tr class="finding" data-rule="{_e(f.rule.id)}"><td class="sev" style="color:'
                    f'{SEVERITY_COLORS[f.severity]}">{_e(f.severity)}</td><td>{_e(f.title)}<br><span class="muted">'
                    f'{_e(f.rule.id)} · <code>{_e(f.location)}</code></span></td><td>{_e(f.reason)}</td>'
                    f"<td><code>{_e(f.fix)}</code></td></tr>")
    if not rows:
        return ["<h2>Findings</h2><p>Nothing flagged.</p>"]
    return ["<h2>Findings</h2><table id=\"findings\"><tr><th>severity</th><th>finding</th><th>why</th><th>fix</th></tr>",
            *rows, "</table>"]


def _keys_table(usage: Usage) -> list[str]:
    keys = usage.used_keys()
    out = ['<h2>Keys</h2><table id="keys"><tr><th>key</th><th>project</th>']
    if usage.daily:
        out.append(f'<th>{_e(usage.measure)} in window</th><th>last day</th><th>cost</th><th>models / APIs</th></tr>')
        for k in keys:
            series = k.series(usage.measure) or [0]
            cost = k.total("cost")
            out.append(f"<tr><td>{_e(k.name)}{' <code>' + _e(k.hint) + '</code>' if k.hint else ''}"
                       f"{' <b>LEAKED</b>' if k.leaked else ''}</td><td>{_e(k.project or '')}</td>"
                       f'<td class="n">{_e(quantity(sum(series)))}</td><td class="n">{_e(quantity(series[-1]))}</td>'
                       f'<td class="n">{_e(money(cost, usage.currency) if cost is not None else "not per key")}</td>'
                       f"<td>{_e(', '.join(sorted(k.models)))}</td></tr>")
    else:
        out.append("<th>today</th><th>week</th><th>month</th><th>total</th><th>limit</th></tr>")
        for k in keys:
            t = k.totals
            out.append(f"<tr><td>{_e(k.name)}{' <b>LEAKED</b>' if k.leaked else ''}</td><td>{_e(k.project or '')}</td>"
                       + "".join(f'<td class="n">{_e(money(t.get(f), "USD") if t.get(f) is not None else "none")}</td>'
                                 for f in ("usage_daily", "usage_weekly", "usage_monthly", "usage", "limit")) + "</tr>")
    out.append("</table>")
    idle = len(usage.keys) - len(keys)
    if idle:
        out.append(f'<p class="muted">{idle} key(s) with no usage in the window.</p>')
    return out


def _costs(usage: Usage) -> list[str]:
    out = [f"<h2>Cost</h2><p>Grain: {_e(usage.cost_grain)}</p>"]
    if usage.costs:
        out.append('<table id="costs"><tr><th>group</th><th>in window</th><th>last day</th></tr>')
        for group, series in sorted(usage.costs.items(), key=lambda g: -sum(g[1])):
            out.append(f'<tr><td>{_e(group)}</td><td class="n">{_e(money(sum(series), usage.currency))}</td>'
                       f'<td class="n">{_e(money(series[-1], usage.currency))}</td></tr>')
        out.append("</table>")
    for limit in usage.limits:
        cap = f", limit {money(limit['limit'], limit.get('currency'))}" if limit.get("limit") is not None else ""
        spent = (f", spent this {limit.get('period') or 'period'} {money(limit['spent_month'], limit.get('currency'))}"
                 if limit.get("spent_month") is not None else "")
        out.append(f"<p>Spend limit of {_e(limit_label(limit))}: "
                   f"{_e(limit['status'])}{_e(cap)}{_e(spent)}</p>")
    return out
