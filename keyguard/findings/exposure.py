"""Keys a browser receives are worse: ``.env*`` variables bundlers ship, built bundles, served files.

One severity story: a key a bundler inlined into ``dist/assets/app.js`` (or that a site serves) is
as public as the ``VITE_*`` line it came from, so each is one step above the rule's severity, and
every browser-exposed finding of one key is as severe as the worst of them.
"""
from __future__ import annotations

import posixpath

from ..model import SEVERITIES, Finding, severity_rank

BROWSER_PREFIXES = ("VITE_", "NEXT_PUBLIC_", "REACT_APP_", "PUBLIC_", "EXPO_PUBLIC_", "NUXT_PUBLIC_", "GATSBY_")
# what a browser loads from a build
_ASSET_SUFFIXES = (".js", ".mjs", ".cjs", ".css", ".html", ".htm", ".map", ".wasm")
# build output folders whose files are served as they are (".next/server" is not: server code)
_BUILD_DIRS = ("dist", "build", "out", "www", "storybook-static")
_BUILD_PATHS = (".next/static/", "_next/static/", ".output/public/", ".svelte-kit/output/client/",
                ".nuxt/dist/client/")


def is_env_file(path: str) -> bool:
    name = posixpath.basename(path.replace("\\", "/"))
    return name == ".env" or name.startswith(".env.")


def is_served(path: str) -> bool:
    """A resource a URL scan fetched: the site gives it to anyone who asks."""
    return path.startswith(("https://", "http://"))


def is_browser_build(path: str) -> bool:
    """A built browser asset: a script, page, stylesheet, map or wasm module in a build folder."""
    p = path.replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    p = "/" + p.lstrip("/")
    name = posixpath.basename(p).lower()
    if not name.endswith(_ASSET_SUFFIXES):
        return False
    if name.endswith((".min.js", ".min.mjs")):
        return True
    parts = p.split("/")[1:-1]
    return any(d in parts for d in _BUILD_DIRS) or any("/" + b in p for b in _BUILD_PATHS)


def _raise(f: Finding) -> None:
    f.severity = SEVERITIES[min(severity_rank(f.severity) + 1, len(SEVERITIES) - 1)]


def mark_browser_exposed(findings: list[Finding]) -> None:
    """Raise severity one step (at most to critical) and say why, for keys a browser receives."""
    exposed: list[Finding] = []
    for f in findings:
        variable = (f.origin or {}).get("variable") or ""
        prefix = next((p for p in BROWSER_PREFIXES if variable.startswith(p)), None)
        if prefix is not None and is_env_file(f.path):
            f.reasons.append(f"client-exposed {prefix} variable {variable}: bundlers inline {prefix}* "
                             "variables into the browser build")
        elif is_served(f.path):
            f.reasons.append("served by the site: anyone who loads the page can read it")
        elif is_browser_build(f.path):
            what = "source map" if f.path.endswith(".map") else "browser bundle"
            f.reasons.append(f"inlined into a {what}: every visitor's browser downloads it")
        else:
            continue
        _raise(f)
        exposed.append(f)
    worst: dict[str, int] = {}
    for f in exposed:
        worst[f.secret] = max(worst.get(f.secret, 0), severity_rank(f.severity))
    for f in exposed:
        f.severity = SEVERITIES[worst[f.secret]]
