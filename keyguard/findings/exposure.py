"""Keys that ship to every visitor's browser are worse: ``.env*`` variables that bundlers inline,
and built browser artefacts (bundles, source maps, pages fetched from a site)."""
from __future__ import annotations

import posixpath

from ..model import SEVERITIES, Finding

BROWSER_PREFIXES = ("VITE_", "NEXT_PUBLIC_", "REACT_APP_", "PUBLIC_", "EXPO_PUBLIC_", "NUXT_PUBLIC_", "GATSBY_")
# where bundlers and static-site tools write what the browser loads
BROWSER_DIRS = frozenset({"dist", "build", "out", "public", "static", "www", "wwwroot", ".next", "_next",
                          "assets", ".output", ".svelte-kit"})
BROWSER_SUFFIXES = (".js", ".mjs", ".cjs", ".map", ".html", ".htm")
# keys that are critical in a browser whatever their restrictions, and why
CRITICAL_IN_BROWSER = {
    "google-auth-key": "a Google auth key acts as its service account: in a browser every visitor "
                       "holds it, and referrer or app restrictions do not change who it acts as",
}


def is_env_file(path: str) -> bool:
    name = posixpath.basename(path.replace("\\", "/"))
    return name == ".env" or name.startswith(".env.")


def is_browser_artifact(path: str, origin: dict | None = None) -> bool:
    """A page or script a browser loads: fetched from a site, a source map, or a built bundle."""
    if path.startswith(("http://", "https://")) or (origin or {}).get("source_map") or (origin or {}).get("original"):
        return True
    parts = path.replace("\\", "/").lower().split("/")
    if not parts[-1].endswith(BROWSER_SUFFIXES):
        return False
    return parts[-1].endswith((".min.js", ".js.map")) or any(p in BROWSER_DIRS for p in parts[:-1])


def mark_browser_exposed(findings: list[Finding]) -> None:
    """Raise severity one step (at most to critical) and say why, for browser-exposed variables;
    to critical for keys in ``CRITICAL_IN_BROWSER`` anywhere a browser gets them."""
    for f in findings:
        variable = (f.origin or {}).get("variable") or ""
        prefix = next((p for p in BROWSER_PREFIXES if variable.startswith(p)), None)
        exposed_env = prefix is not None and is_env_file(f.path)
        why = CRITICAL_IN_BROWSER.get(f.rule.id)
        if why and (exposed_env or is_browser_artifact(f.path, f.origin)):
            f.severity = "critical"
            f.reasons.append(f"in a browser bundle or page: {why}")
            continue
        if not exposed_env:
            continue
        f.severity = SEVERITIES[min(SEVERITIES.index(f.severity) + 1, len(SEVERITIES) - 1)]
        f.reasons.append(f"{variable}: bundlers inline {prefix}* variables into the browser build")
