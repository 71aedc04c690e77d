"""Keys a browser receives are worse: ``.env*`` variables bundlers inline, built browser artefacts
(bundles, source maps, pages), and whatever a site serves.

One severity story: a key a bundler inlined into ``dist/assets/app.js`` (or that a site serves) is
as public as the ``VITE_*`` line it came from, so each is one step above the rule's severity, and
every browser-exposed finding of one key is as severe as the worst of them.
"""
from __future__ import annotations

import posixpath

from ..model import SEVERITIES, Finding, severity_rank

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


def is_served(path: str) -> bool:
    """A resource a URL scan fetched: the site gives it to anyone who asks."""
    return path.startswith(("https://", "http://"))


def is_browser_artifact(path: str, origin: dict | None = None) -> bool:
    """A page or script a browser loads: fetched from a site, a source map, or a built bundle."""
    if is_served(path) or (origin or {}).get("source_map") or (origin or {}).get("original"):
        return True
    parts = path.replace("\\", "/").lower().split("/")
    if not parts[-1].endswith(BROWSER_SUFFIXES):
        return False
    return parts[-1].endswith((".min.js", ".js.map")) or any(p in BROWSER_DIRS for p in parts[:-1])


def _why(f: Finding, variable: str, prefix: str | None) -> str:
    if prefix is not None:
        return (f"client-exposed {prefix} variable {variable}: bundlers inline {prefix}* variables "
                "into the browser build")
    if is_served(f.path):
        return "served by the site: anyone who loads the page can read it"
    what = "source map" if f.path.endswith(".map") or (f.origin or {}).get("source_map") else "browser bundle"
    return f"inlined into a {what}: every visitor's browser downloads it"


def _browser_place(f: Finding) -> tuple[bool, str | None]:
    """(whether a browser receives the key, the prefix of the ``.env`` variable that sends it there)."""
    variable = (f.origin or {}).get("variable") or ""
    prefix = next((p for p in BROWSER_PREFIXES if variable.startswith(p)), None)
    if prefix is not None and is_env_file(f.path):
        return True, prefix
    return is_browser_artifact(f.path, f.origin), None


def critical_whatever_restrictions(f: Finding) -> bool:
    """A key a browser receives that stays critical whatever restrictions a live check finds
    (``CRITICAL_IN_BROWSER``: a Google auth key acts as its service account)."""
    return f.rule.id in CRITICAL_IN_BROWSER and _browser_place(f)[0]


def mark_browser_exposed(findings: list[Finding]) -> None:
    """Raise severity one step (at most to critical) and say why, for keys a browser receives;
    to critical for keys in ``CRITICAL_IN_BROWSER``. Then every browser-exposed finding of one key
    takes the severity of the worst of them."""
    exposed: list[Finding] = []
    for f in findings:
        exposed_here, prefix = _browser_place(f)
        if not exposed_here:
            continue
        variable = (f.origin or {}).get("variable") or ""
        why = CRITICAL_IN_BROWSER.get(f.rule.id)
        f.reasons.append(_why(f, variable, prefix))  # where it is: an .env line, a bundle, a site
        if why:
            f.severity = "critical"
            f.reasons.append(why)
        else:
            f.severity = SEVERITIES[min(severity_rank(f.severity) + 1, len(SEVERITIES) - 1)]
        exposed.append(f)
    worst: dict[str, int] = {}
    for f in exposed:
        worst[f.secret] = max(worst.get(f.secret, 0), severity_rank(f.severity))
    for f in exposed:
        f.severity = SEVERITIES[worst[f.secret]]
