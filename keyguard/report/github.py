"""``--format github``: workflow commands that GitHub Actions shows as annotations."""
from __future__ import annotations

from ..model import ScanResult

_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "notice"}


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def render(result: ScanResult, show_secrets: bool = False) -> str:
    lines = []
    for f in result.findings:
        shown = f.secret if show_secrets else f.redacted
        where = f" in {f.origin['variable']}" if f.origin.get("variable") else ""
        msg = f"{f.rule.name}{where}: {shown} [{f.severity}] ({f.rule.id})"
        if f.commit and f.commit.get("sha"):
            msg += f" introduced in {f.commit['sha'][:12]}"
        if f.verification:
            msg += f"; live check: {f.verification.get('status')}"
            if f.verification.get("reasons"):
                msg += f" ({f.verification['reasons'][0]})"
        props = (
            f"file={_escape_property(f.path)},line={f.line},col={f.column},"
            f"endColumn={f.end_column},title={_escape_property('keyguard: ' + f.rule.name)}"
        )
        lines.append(f"::{_LEVEL[f.severity]} {props}::{_escape_data(msg)}")
    return "\n".join(lines) + ("\n" if lines else "")
