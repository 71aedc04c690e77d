"""What a fetched page, script or manifest links to: scripts, style sheets, chunks, bundler
manifests, source maps and same-origin pages, found in linear time."""
from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

# attributes are searched only up to the tag's end (the next < or >): a regex spanning the tag
# (<script\b[^>]*?\bsrc...) rescanned the rest of a page for every tag left open
TAG = re.compile(r"<(script|link|a)\b", re.I)
TAG_END = re.compile(r"[<>]")
SCRIPT_SRC = re.compile(r"""\bsrc\s*=\s*["']?([^"'\s>]+)""", re.I)
LINK_HREF = re.compile(
    r"""\bhref\s*=\s*["']?([^"'\s>]+?\.(?:m?js|cjs|css|json|map|wasm)(?:\?[^"'\s>]*)?)(?=["'\s>]|$)""", re.I)
PAGE_HREF = re.compile(r"""\bhref\s*=\s*["']?([^"'\s>#]+)""", re.I)
QUOTED_ASSET = re.compile(r"""(?:import\(\s*|["'`])(\.{0,2}/?[\w./@~-]*\.(?:m?js|cjs|wasm))["'`]""")
MAP_URL = re.compile(r"[#@]\s*sourceMappingURL=([^\s'\"*]+)")
# Next.js names its files "static/chunks/...", "static/css/...", "static/<buildId>/..." relative
# to the "/_next/" folder (in _buildManifest.js, build-manifest.json, the app router's flight data)
# (names are bounded: "static/@static/@..." would otherwise re-read the whole run at every start)
NEXT_STATIC = re.compile(r"""(?<![\w./-])(?:/_next/)?static/[\w./@%~+\[\]-]{1,1024}?\.(?:m?js|css)(?![\w.])""")
NEXT_FOLDER = re.compile(r"""["'](?:https?://[^/"']+)?((?:/[\w.~-]+)*/_next/)static/""")
NEXT_MARKERS = ("/_next/", "__NEXT_DATA__", "__BUILD_MANIFEST", "self.__next_f")
NEXT_MANIFESTS = ("_buildManifest.js", "build-manifest.json", "app-build-manifest.json")
BUILD_ID = re.compile(r'"buildId"\s*:\s*"([\w-]{1,64})"')
MAX_LINKS_PER_RESOURCE = 10_000
PAGE_EXTENSIONS = ("", ".html", ".htm", ".php", ".asp", ".aspx", ".jsp")
ASSET_NAME = re.compile(r"[\w./@~%+\[\]-]+\.(?:m?js|cjs|css|map|wasm)(?:\?[\w=&.-]*)?")
# well-known manifests nothing links to, tried once per start page (bundler manifests)


@dataclass(frozen=True)
class Link:
    """A URL to fetch. ``kind``: ``asset`` (script, style sheet, chunk, manifest, source map),
    ``page`` (a same-origin ``<a href>``) or ``probe`` (a well-known manifest that may be absent)."""

    url: str
    depth: int
    kind: str = "asset"


def url_path(url: str) -> str:
    return urlsplit(url).path


def _tag_urls(text: str) -> tuple[list[str], list[str]]:
    """``<script src>`` and ``<link href>`` URLs (scripts first), and ``<a href>`` URLs, in
    linear time: each tag's attributes are read only up to its end."""
    scripts: list[str] = []
    links: list[str] = []
    pages: list[str] = []
    for m in TAG.finditer(text):
        end = TAG_END.search(text, m.end())
        stop = end.start() if end else len(text)
        tag = m.group(1).lower()
        if tag == "script":
            attr, into = SCRIPT_SRC.search(text, m.end(), stop), scripts
        elif tag == "link":
            attr, into = LINK_HREF.search(text, m.end(), stop), links
        else:
            attr, into = PAGE_HREF.search(text, m.end(), stop), pages
        if attr:
            into.append(attr.group(1))
    return scripts + links, pages


def links(url: str, text: str, headers: Any, depth: int) -> list[Link]:
    """Pages, scripts, chunks, manifests and source maps a resource names (absolute URLs)."""
    ctype = headers.get("Content-Type", "").lower()
    path = url_path(url)
    name = posixpath.basename(path)
    found: list[Link] = []

    def add(names: list[str], kind: str = "asset", base: str = url, step: int = 1) -> None:
        for n in names[:MAX_LINKS_PER_RESOURCE]:
            target = urljoin(base, n.strip()).split("#")[0]
            if target.startswith(("http://", "https://")):
                found.append(Link(target, depth + step, kind))

    is_next = any(m in text for m in NEXT_MARKERS) or "/_next/" in path or name in NEXT_MANIFESTS
    # in a Next.js build a bare "static/..." name is relative to /_next/, not to this resource
    quoted = [n for n in QUOTED_ASSET.findall(text) if not (is_next and n.startswith("static/"))]
    if "html" in ctype or (not ctype and text.lstrip()[:1] == "<"):
        assets, pages = _tag_urls(text)
        add(assets + quoted)
        add([h for h in pages if _looks_like_page(h)], "page")
        m = BUILD_ID.search(text)
        if m:
            add([f"static/{m.group(1)}/_buildManifest.js"], base=_next_folder(url, text))
    elif path.endswith((".js", ".mjs", ".cjs", ".css")) or "javascript" in ctype or "css" in ctype:
        add([m for m in MAP_URL.findall(text) if not m.startswith("data:")], step=0)
        add(quoted)
    elif path.endswith(".json") or "json" in ctype:
        names, base = _manifest_names(url, name, text)
        add(names, base=base)
    if is_next:
        next_folder = _next_folder(url, text)
        add([n.removeprefix("/_next/") for n in NEXT_STATIC.findall(text)], base=next_folder)
    header_map = headers.get("SourceMap") or headers.get("X-SourceMap")
    if header_map:
        add([header_map], step=0)
    return found


def _looks_like_page(href: str) -> bool:
    if ":" in href.split("/")[0] and not href.startswith(("http://", "https://")):
        return False  # mailto:, javascript:, tel:
    return posixpath.splitext(url_path(href))[1].lower() in PAGE_EXTENSIONS


def _next_folder(url: str, text: str) -> str:
    """The URL of the ``/_next/`` folder that Next.js ``static/...`` names are relative to."""
    path = url_path(url)
    if "/_next/" in path:
        return urljoin(url, path[: path.index("/_next/") + len("/_next/")])
    m = NEXT_FOLDER.search(text)
    return urljoin(url, m.group(1) if m else "/_next/")


def _manifest_names(url: str, name: str, text: str) -> tuple[list[str], str]:
    """File names in a JSON manifest (Vite's ``.vite/manifest.json`` or ``manifest.json``,
    Next.js ``build-manifest.json``, ...) and the URL they are relative to."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        return [], url
    names: list[str] = []
    stack = [data]
    while stack and len(names) < MAX_LINKS_PER_RESOURCE:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())  # keys are source names (Vite: "src/main.ts"), not files
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and ASSET_NAME.fullmatch(item):
            names.append(item)
    if name in NEXT_MANIFESTS:
        return names, _next_folder(url, "")
    if url_path(url).endswith("/.vite/manifest.json"):
        return names, urljoin(url, "../")  # Vite 5: files are relative to the build's root
    return names, url
