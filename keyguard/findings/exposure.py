"""Keys in ``.env*`` variables that bundlers ship to every visitor's browser are worse."""
from __future__ import annotations

import posixpath

from ..model import SEVERITIES, Finding

BROWSER_PREFIXES = ("VITE_", "NEXT_PUBLIC_", "REACT_APP_", "PUBLIC_", "EXPO_PUBLIC_", "NUXT_PUBLIC_", "GATSBY_")


def is_env_file(path: str) -> bool:
    name = posixpath.basename(path.replace("\\", "/"))
    return name == ".env" or name.startswith(".env.")


def mark_browser_exposed(findings: list[Finding]) -> None:
    """Raise severity one step (at most to critical) and say why, for browser-exposed variables."""
    for f in findings:
        variable = (f.origin or {}).get("variable") or ""
        prefix = next((p for p in BROWSER_PREFIXES if variable.startswith(p)), None)
        if prefix is None or not is_env_file(f.path):
            continue
        f.severity = SEVERITIES[min(SEVERITIES.index(f.severity) + 1, len(SEVERITIES) - 1)]
        f.reasons.append(f"{variable}: bundlers inline {prefix}* variables into the browser build")
