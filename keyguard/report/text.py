"""``--format text``: for people. Grouped by file, worst first; colour only on a terminal."""
from __future__ import annotations

import textwrap
from itertools import groupby
from typing import Callable

from ..findings import exposure
from ..model import Finding, ScanResult, severity_rank

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


def _reads_as_name(variable: str) -> bool:
    """``GEMINI_API_KEY``, ``apiKey``, ``openai.key`` read as names; a minifier's ``u`` or ``Kt`` is noise."""
    return "$" not in variable and (len(variable) >= 4 or any(c in variable for c in "_-."))


def _where(f: Finding) -> str:
    """What kind of place the key is in: decides the advice."""
    if exposure.is_served(f.path):
        return "site"
    if f.commit and f.commit.get("sha"):
        return "history"
    return "build" if exposure.is_browser_artifact(f.path, f.origin) else "file"


# what to do about a key in each kind of place, after the rule's own rotation steps:
# one line beside each finding, the whole story once under "What to do"
_FIX = {
    "file": "rotate the key, then remove it from this file",
    "build": "rotate the key, take it out of what the bundler reads, rebuild and redeploy",
    "history": "rotate the key: it stays in every clone of this history",
    "site": "rotate the key, redeploy without it, purge the old deploy and CDN caches",
}
_ADVICE = {
    "file": "Keys in files: rotate first (a key that was ever committed or shipped must be treated "
            "as public), then remove it and read it from the environment or a secret manager.",
    "build": "Keys in a browser build: every visitor's browser gets them. Rotate the key; take it "
             "out of what the bundler reads (a `VITE_*` or `NEXT_PUBLIC_*` variable, a `define`), "
             "rebuild and redeploy. A key the browser must hold needs the provider's restrictions "
             "(referrers, APIs); any other belongs behind a server-side proxy.",
    "history": "Keys in git history: deleting the line does not remove the key from the commits "
               "that hold it, nor from clones and forks. Rotate it; rewriting history (e.g. `git "
               "filter-repo --replace-text`, then a force-push) only helps after that.",
    "site": "Keys on a site: the deployed files serve the key to anyone. Rotate it, rebuild "
            "without it (a server-side proxy instead of a key in client code), redeploy, and purge "
            "the old deploy and CDN caches.",
}


def _commit(commit: dict) -> str:
    text = f"commit {commit['sha'][:10]}"
    who, when = commit.get("author"), str(commit.get("date") or "")[:10]
    if who:
        text += f" by {_printable(who)}"
    if when:
        text += f", {_printable(when)}"
    return text


def _wrap(text: str, indent: str, width: int = 100) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), width=width, initial_indent=indent,
                         subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)


def _finding(f: Finding, show_secrets: bool, c: Callable[[str, str], str]) -> list[str]:
    sev = c(_COLORS[f.severity], f"{f.severity.upper():8}")
    extra = []
    variable = f.origin.get("variable")
    if variable and _reads_as_name(variable):
        extra.append(f"in {_printable(variable)}")
    if f.origin.get("encoding"):
        extra.append(f"{f.origin['encoding']}-encoded")
    if f.origin.get("source"):
        extra.append(f"from {_printable(f.origin['source'])}:{f.origin.get('source_line', '?')}")
    original = f.origin.get("original")
    if isinstance(original, dict):
        extra.append(f"source map: {_printable(original.get('source'))}:{original.get('line')}:"
                     f"{original.get('column')}")
    if f.commit and f.commit.get("sha"):
        extra.append(_commit(f.commit))
    tail = f" ({', '.join(extra)})" if extra else ""
    out = [f"  {f.line}:{f.column}  {sev} {f.rule.provider}: {f.rule.name}{tail}",
           c(_DIM, f"      {f.secret if show_secrets else f.redacted}  sha256:{f.secret_sha256[:12]}  "
                   f"[{f.rule.id}]"),
           c(_DIM, f"      fingerprint {f.fingerprint}"
                   + ("  (lower confidence)" if f.rule.confidence == "low" else ""))]
    for reason in f.reasons:
        out.extend(_wrap(f"why: {_printable(reason)}", "      "))
    if f.verification:
        v = f.verification
        out.append(f"      verification: {v.get('status')}")
        for part in ("restrictions", "quota", "scope"):
            if v.get(part):
                out.append(c(_DIM, f"      {part}: {_flat(v[part])}"))
    out.append(f"      fix: {_FIX[_where(f)]}")
    return out


def _what_to_do(findings: list[Finding]) -> list[str]:
    """Each kind of place's advice once, then each rule's remediation once, worst first."""
    out = []
    for where in ("file", "build", "history", "site"):
        if any(_where(f) == where for f in findings):
            out.extend(_wrap(_ADVICE[where], "  "))
    seen: set[str] = set()
    for f in sorted(findings, key=lambda f: (-severity_rank(f.severity), f.rule.id)):
        if f.rule.id not in seen:
            seen.add(f.rule.id)
            out.append(f"  {f.rule.id}:")
            out.extend(_wrap(f.rule.remediation or "Rotate the key with its provider.", "      "))
    out.append("A false positive? " + (
        "Add `keyguard:allow` in a comment on that line, or run:"
        if any(_where(f) in ("file", "build") for f in findings) else "Run:"))
    out.append('  keyguard allow FINGERPRINT --reason "..."')
    return out


def _summary(result: ScanResult) -> str:
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
    return summary


_SKIPPED_SHOWN = 10  # skipped paths named without --verbose
_VENDORED = "vendored directory"


def _skipped(result: ScanResult, verbose: bool) -> list[str]:
    """What was not scanned, by name: a short list, or every name kept (up to 1000) with --verbose."""
    # vendored folders are skipped on purpose, and counted: not worth a line each
    paths = [p for p in result.stats.skipped_paths if p["reason"] != _VENDORED]
    shown = paths if verbose else paths[:_SKIPPED_SHOWN]
    out = [f"  skipped: {_printable(p['path'])} ({_printable(p['reason'])})" for p in shown]
    rest = sum(n for r, n in result.stats.skipped.items() if r != _VENDORED) - len(shown)
    if rest > 0:
        out.append(f"  … and {rest} more" + ("" if verbose else " (--verbose names them)"))
    return out


def render(result: ScanResult, show_secrets: bool = False, color: bool = False, verbose: bool = False) -> str:
    def c(code: str, s: str) -> str:
        return f"{code}{s}{_RESET}" if color else s

    out: list[str] = []
    findings = sorted(result.findings, key=lambda f: (f.path, -severity_rank(f.severity), f.line))
    for path, group in groupby(findings, key=lambda f: f.path):
        out.append(c(_BOLD, _printable(path)))
        for f in group:
            out.extend(_finding(f, show_secrets, c))
        out.append("")
    if findings:
        out.append(c(_BOLD, "What to do"))
        out.extend(_what_to_do(findings))
        out.append("")
    summary = _summary(result)
    out.append(c(_BOLD, summary) if findings else summary)
    out.extend(_skipped(result, verbose))
    for e in result.errors:
        out.append(f"warning: {e}")
    return "\n".join(out) + "\n"
