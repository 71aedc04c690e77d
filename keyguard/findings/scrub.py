"""A found key must not reach a report anywhere but its own (redacted) finding."""
from __future__ import annotations

import re
from typing import Any

from ..model import Finding, Stats


def scrub_secrets(findings: list[Finding], stats: Stats, errors: list[str]) -> list[str]:
    """Redact every secret found wherever else it stands in the report: in paths (a URL scan's
    ``/k/AIza…/app.js``, a file named after its key), skipped paths, web stats and errors."""
    shown = {f.secret: f.redacted for f in findings if len(f.secret) >= 12}
    if not shown:
        return errors

    found = re.compile("|".join(map(re.escape, sorted(shown, key=len, reverse=True))))

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return found.sub(lambda m: shown[m.group(0)], value) if found.search(value) else value
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        return value

    for f in findings:
        f.path = clean(f.path)
    stats.skipped = clean(stats.skipped)
    stats.skipped_paths = clean(stats.skipped_paths)
    stats.extra = clean(stats.extra)
    return clean(errors)
