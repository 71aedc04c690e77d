"""``--format text``: for people. Grouped by file, worst first; colour only on a terminal."""
from __future__ import annotations

from itertools import groupby

from ..model import severity_rank
from ..model import ScanResult

_COLORS = {"critical": "\033[1;31m", "high": "\033[31m", "medium": "\033[33m", "low": "\033[36m"}
_RESET = "\033[0m"
_DIM = "\033[2m"
_BOLD = "\033[1m"
# control characters shown escaped: a file name (or a source map's source name) holding a
# newline or a terminal escape must not forge a report line or recolour the terminal
_CONTROLS = {i: f"\\x{i:02x}" for i in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROLS.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def _printable(s: object) -> str:
    return str(s).translate(_CONTROLS)


def _flat(values: dict, limit: int = 300) -> str:
    """``a=1, b=[x, y]`` on one line, cut at ``limit`` characters."""
    def show(value: object) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k}={show(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(show(v) for v in value) + "]"
        return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)

    text = ", ".join(f"{k}={show(v)}" for k, v in values.items())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def render(result: ScanResult, show_secrets: bool = False, color: bool = False) -> str:
    def c(code: str, s: str) -> str:
        return f"{code}{s}{_RESET}" if color else s

    out: list[str] = []
    findings = sorted(result.findings, key=lambda f: (f.path, -severity_rank(f.severity), f.line))
    for path, group in groupby(findings, key=lambda f: f.path):
        out.append(c(_BOLD, _printable(path)))
        for f in group:
            sev = c(_COLORS[f.severity], f"{f.severity.upper():8}")
            shown = f.secret if show_secrets else f.redacted
            extra = []
            if f.origin.get("variable"):
                extra.append(f"in {f.origin['variable']}")
            if f.origin.get("encoding"):
                extra.append(f"{f.origin['encoding']}-encoded")
            if f.origin.get("source"):
                extra.append(f"from {_printable(f.origin['source'])}:{f.origin.get('source_line', '?')}")
            original = f.origin.get("original")
            if isinstance(original, dict):
                extra.append(f"source map: {_printable(original.get('source'))}:{original.get('line')}:"
                             f"{original.get('column')}")
            if f.commit and f.commit.get("sha"):
                extra.append(f"commit {f.commit['sha'][:10]}")
            tail = f" ({', '.join(extra)})" if extra else ""
            out.append(f"  {f.line}:{f.column}  {sev} {f.rule.provider}: {f.rule.name}{tail}")
            out.append(c(_DIM, f"      {shown}  sha256:{f.secret_sha256[:12]}  [{f.rule.id}]"))
            out.append(c(_DIM, f"      fingerprint {f.fingerprint}"
                               + ("  (lower confidence)" if f.rule.confidence == "low" else "")))
            if f.verification:
                v = f.verification
                out.append(f"      verification: {v.get('status')}" + (
                    f" — {'; '.join(f.reasons)}" if f.reasons else ""))
                for part in ("restrictions", "quota", "scope"):
                    if v.get(part):
                        out.append(c(_DIM, f"      {part}: {_flat(v[part])}"))
        out.append("")
    s = result.stats
    n = len(result.findings)
    skipped = sum(s.skipped.values())
    web = s.extra.get("web")
    scanned = f"{s.files} file{'s' if s.files != 1 else ''}"
    depth = ""
    if web:  # a URL scan
        count = web["fetched_count"]
        scanned = f"{count} fetched URL{'s' if count != 1 else ''}"
        if s.files > count:
            scanned += f" and {s.files - count} file{'s' if s.files - count != 1 else ''}"
        depth = f", depth limit {web['max_depth']}"
    summary = f"{n} finding{'s' if n != 1 else ''} in {scanned}"
    summary += f" ({s.bytes / 1e6:.1f} MB, {s.seconds:.2f} s{depth})"
    if skipped:
        summary += f"; {skipped} skipped (" + ", ".join(f"{k}: {v}" for k, v in s.skipped.items()) + ")"
    hidden = {k: v for k, v in s.suppressed.items() if k in ("baseline", "allowed", "skipped-path")}
    if hidden:
        summary += "; hidden: " + ", ".join(f"{k} {v}" for k, v in sorted(hidden.items()))
    out.append(c(_BOLD, summary) if n else summary)
    if n:
        out.append(
            "A false positive? Add `keyguard:allow` in a comment on that line, or run "
            "`keyguard allow FINGERPRINT --reason \"...\"`."
        )
    for e in result.errors:
        out.append(f"warning: {e}")
    return "\n".join(out) + "\n"
