"""``keyguard scan https://site/``: a bounded crawl of a site's pages, scripts, chunks and maps.

Plain GETs with a keyguard User-Agent, no cookies or credentials, a time-out per request, and
limits on resources, bytes, depth and time. Redirects are followed by hand: never to another host,
and never from a public start URL to a private or loopback address. Each resource's URL (with long
query values redacted) is its path. What was fetched goes to ``stats.extra["web"]``; what was not,
with the reason, to ``stats.skip``.

Depth counts link hops from the start page (0): its scripts, style sheets and pages are 1, the
chunks those scripts name are 2, and so on. A source map has its script's depth.
"""
from __future__ import annotations

import ipaddress
import json
import posixpath
import re
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator
from urllib.parse import urljoin, urlsplit, urlunsplit

from .. import __version__
from ..budget import OverBudget, time_budget
from ..model import Finding, ScanText, Stats, redact

USER_AGENT = f"keyguard/{__version__} (secret scanner; +https://github.com/keyguard)"
MAX_REDIRECTS = 5
MAX_LISTED = 1000  # fetched resources listed one by one in the JSON stats
MAX_LINKS_PER_RESOURCE = 10_000

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
ASSET_NAME = re.compile(r"[\w./@~%+\[\]-]+\.(?:m?js|cjs|css|map|wasm)(?:\?[\w=&.-]*)?")
# well-known manifests nothing links to, tried once per start page (bundler manifests)
PROBES = (".vite/manifest.json", "manifest.json")
PAGE_EXTENSIONS = ("", ".html", ".htm", ".php", ".asp", ".aspx", ".jsp")
TEXT_TYPES = ("text/", "javascript", "json", "wasm", "xml", "ecmascript")
ASSET_EXTENSIONS = (".js", ".mjs", ".cjs", ".css", ".json", ".map", ".wasm", ".html", ".htm")


class WebError(Exception):
    """The start URL cannot be scanned at all."""


@dataclass
class Limits:
    max_pages: int = 200
    max_bytes: int = 50 * 2**20
    max_seconds: int = 120
    timeout: int = 10
    max_depth: int = 3
    same_origin: bool = True


@dataclass(frozen=True)
class Link:
    """A URL to fetch. ``kind``: ``asset`` (script, style sheet, chunk, manifest, source map),
    ``page`` (a same-origin ``<a href>``) or ``probe`` (a well-known manifest that may be absent)."""

    url: str
    depth: int
    kind: str = "asset"


@dataclass
class Fetched:
    url: str  # after redirects
    body: bytes
    headers: Any


@dataclass
class Crawl:
    """What one scan has fetched so far, against its limits."""

    limits: Limits
    stats: Stats
    started: float = field(default_factory=time.monotonic)
    fetched: int = 0
    downloaded: int = 0

    def __post_init__(self) -> None:
        self.record: dict[str, Any] = self.stats.extra.setdefault(
            "web", {"fetched_count": 0, "fetched_bytes": 0, "max_depth": self.limits.max_depth,
                    "fetched": []})

    def over_limit(self, link: Link) -> str | None:
        if link.depth > self.limits.max_depth:
            return "limit: --max-depth reached"
        if self.fetched >= self.limits.max_pages:
            return "limit: --max-pages reached"
        if self.downloaded >= self.limits.max_bytes:
            return "limit: --max-mb reached"
        if self.out_of_time():
            return "limit: --max-time reached"
        return None

    def out_of_time(self) -> bool:
        return time.monotonic() - self.started > self.limits.max_seconds

    def seconds_left(self) -> float:
        return self.limits.max_seconds - (time.monotonic() - self.started)

    def done(self, link: Link, got: Fetched) -> None:
        self.fetched += 1
        self.downloaded += len(got.body)
        self.stats.files += 1
        self.stats.bytes += len(got.body)
        self.record["fetched_count"] += 1
        self.record["fetched_bytes"] += len(got.body)
        if len(self.record["fetched"]) < MAX_LISTED:
            entry = {"url": shown_url(got.url), "bytes": len(got.body), "depth": link.depth}
            ctype = got.headers.get("Content-Type")
            if ctype:
                entry["content_type"] = ctype.split(";")[0].strip()
            self.record["fetched"].append(entry)


class Progress:
    """One line on standard error, rewritten in place; only on a terminal."""

    def __init__(self) -> None:
        self.on = sys.stderr.isatty()

    def show(self, crawl: Crawl, queued: int, link: Link) -> None:
        if self.on:
            sys.stderr.write(f"\rkeyguard: {crawl.fetched} fetched, {crawl.downloaded // 1024} KiB, "
                             f"{queued} queued, depth {link.depth}: {shown_url(link.url)[:60]}\x1b[K")
            sys.stderr.flush()

    def clear(self) -> None:
        if self.on:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def shown_url(url: str) -> str:
    """``url`` for reports: no ``user:password@``, query values longer than 12 characters
    redacted (a ``?key=`` may be a secret), no fragment."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    if not parts.query:
        return urlunsplit(parts._replace(fragment=""))
    params = []
    for param in parts.query.split("&"):
        name, eq, value = param.partition("=")
        params.append(f"{name}{eq}{redact(value) if len(value) > 12 else value}")
    return urlunsplit(parts._replace(query="&".join(params), fragment=""))


def is_private_host(host: str) -> bool:
    """Does ``host`` resolve to any address that is not on the public internet (private,
    loopback, link-local such as 169.254.169.254, shared 100.64/10, reserved, multicast)?"""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    for info in infos:
        try:
            addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        except ValueError:
            return True  # an address that cannot be read is not taken for a public one
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
        if not addr.is_global or addr.is_multicast:
            return True
    return False


def _private(host: str, known: dict[str, bool]) -> bool:
    if host not in known:
        known[host] = is_private_host(host)
    return known[host]


def _session() -> Any:
    import logging

    import requests  # lazily: start-up time
    from http.cookiejar import DefaultCookiePolicy

    # urllib3 logs each request line at DEBUG, query string and all ("/maps.js?key=AIza…")
    pool_log = logging.getLogger("urllib3.connectionpool")
    if pool_log.getEffectiveLevel() < logging.INFO:
        pool_log.setLevel(logging.INFO)

    session = requests.Session()
    session.trust_env = False  # no .netrc credentials, no proxies from the environment
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # accept no cookies
    session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"})
    return session


def web_texts(urls: list[str], stats: Stats, limits: Limits) -> Iterator[ScanText]:
    """Each fetched resource as one ``ScanText`` whose path is its URL."""
    session = _session()
    crawl = Crawl(limits, stats)
    progress = Progress()
    for start in urls:
        if _has_credentials(start):
            raise WebError(f"{shown_url(start)}: the URL holds credentials (user:password@); "
                           "URL scans send none: remove them")
    try:
        for start in urls:
            yield from _crawl_one(session, start, crawl, progress)
    finally:
        progress.clear()


def _has_credentials(url: str) -> bool:
    return "@" in urlsplit(url).netloc


def _crawl_one(session: Any, start: str, crawl: Crawl, progress: Progress) -> Iterator[ScanText]:
    limits, stats = crawl.limits, crawl.stats
    start_host = urlsplit(start).hostname or ""
    start_public = not is_private_host(start_host)
    origin = _origin(start)
    assets: deque[Link] = deque([Link(start, 0, "page")])
    pages: deque[Link] = deque()  # fetched when no asset is left: scripts and maps come first
    seen: set[str] = set()
    private: dict[str, bool] = {}  # host -> is it private, looked up once
    first = True
    while assets or pages:
        link = assets.popleft() if assets else pages.popleft()
        if link.url in seen:
            continue
        seen.add(link.url)
        shown = shown_url(link.url)
        if _has_credentials(link.url):  # requests would send them as Basic auth
            stats.skip(shown, "credentials in the URL refused (URL scans send none)")
            continue
        if _origin(link.url) != origin:
            if link.kind != "page":  # links to other sites' pages are not part of this site
                if limits.same_origin:
                    stats.skip(shown, "other origin (use --cross-origin)")
                    continue
            else:
                continue
            host = _origin(link.url)[1]
            if start_public and host != start_host.lower() and _private(host, private):
                stats.skip(shown, "private address refused (the start URL was public)")
                continue
        reason = crawl.over_limit(link)
        if reason:
            stats.skip(shown, reason)
            continue
        progress.show(crawl, len(assets) + len(pages), link)
        got = _get(session, link.url, start_host, start_public, crawl)
        if isinstance(got, str):
            if first and crawl.fetched == 0:  # nothing at all to scan
                raise WebError(f"{shown}: {got}")
            stats.skip(shown, f"well-known manifest absent ({got})" if link.kind == "probe" else got)
            continue
        crawl.done(link, got)
        text = got.body.decode("utf-8", "replace")
        yield ScanText(text, shown_url(got.url))
        for found in _links(got.url, text, got.headers, link.depth):
            (pages if found.kind == "page" else assets).append(found)
        if first:
            assets.extend(Link(urljoin(got.url, p), 1, "probe") for p in PROBES)
            first = False


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _get(session: Any, url: str, start_host: str, start_public: bool, crawl: Crawl) -> Fetched | str:
    """The resource at ``url`` (same-host redirects followed by hand), or why not; all of it
    within the time --max-time has left."""
    try:
        with time_budget(crawl.seconds_left()):
            return _get_within(session, url, start_host, start_public, crawl)
    except OverBudget:
        return "limit: --max-time reached"


def _get_within(session: Any, url: str, start_host: str, start_public: bool, crawl: Crawl) -> Fetched | str:
    import requests

    for _ in range(MAX_REDIRECTS + 1):
        try:
            resp = session.get(url, timeout=crawl.limits.timeout, allow_redirects=False, stream=True)
        except requests.RequestException as exc:
            return f"fetch failed ({exc.__class__.__name__})"
        with resp:
            if resp.is_redirect:
                target = urljoin(url, resp.headers.get("Location", ""))
                host = urlsplit(target).hostname or ""
                if host.lower() != start_host.lower():
                    return f"redirect to another host refused ({host})"
                if _has_credentials(target):
                    return "redirect to a URL with credentials refused"
                if start_public and is_private_host(host):
                    return "redirect to a private address refused"
                url = target
                continue
            if resp.status_code != 200:
                return f"HTTP {resp.status_code}"
            ctype = resp.headers.get("Content-Type", "").lower()
            if ctype and not any(t in ctype for t in TEXT_TYPES) and not _path(url).endswith(ASSET_EXTENSIONS):
                return f"not a page, script, style sheet, map or wasm ({ctype.split(';')[0]})"
            return _read_body(resp, url, crawl)
    return f"more than {MAX_REDIRECTS} redirects"


def _read_body(resp: Any, url: str, crawl: Crawl) -> Fetched | str:
    """The decoded body, or why not: past the --max-mb budget left or past --max-time.

    Read with ``read1`` where urllib3 has it: each call returns what one socket read brought,
    so a server that trickles bytes (or an endless chunked stream) meets the deadline; and each
    call decodes at most 64 KiB, so a compression bomb never expands past the budget."""
    import http.client

    import requests
    import urllib3

    budget = crawl.limits.max_bytes - crawl.downloaded
    read1 = getattr(resp.raw, "read1", None)
    chunks = (iter(lambda: read1(65536, decode_content=True), b"") if read1 is not None
              else resp.iter_content(65536))
    blocks: list[bytes] = []
    size = 0
    try:
        for block in chunks:
            blocks.append(block)
            size += len(block)
            if size > budget:
                return "limit: --max-mb reached"
            if crawl.out_of_time():  # a body trickling in slowly must not outlast --max-time
                return "limit: --max-time reached"
    except (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
            OSError, ValueError) as exc:
        return f"fetch failed ({exc.__class__.__name__})"
    return Fetched(url, b"".join(blocks), resp.headers)


def _path(url: str) -> str:
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


def _links(url: str, text: str, headers: Any, depth: int) -> list[Link]:
    """Pages, scripts, chunks, manifests and source maps a resource names (absolute URLs)."""
    ctype = headers.get("Content-Type", "").lower()
    path = _path(url)
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
    return posixpath.splitext(_path(href))[1].lower() in PAGE_EXTENSIONS


def _next_folder(url: str, text: str) -> str:
    """The URL of the ``/_next/`` folder that Next.js ``static/...`` names are relative to."""
    path = _path(url)
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
    if _path(url).endswith("/.vite/manifest.json"):
        return names, urljoin(url, "../")  # Vite 5: files are relative to the build's root
    return names, url


class WebSource:
    """A deployed site by URL: a bounded crawl of its pages, scripts, chunks and source maps."""

    pool_min_items = 0
    pool_min_jobs = 1 << 30  # one crawl, its politeness limits shared: this process

    def __init__(self, urls: list[str], limits: Limits) -> None:
        self.urls, self.limits = urls, limits

    def items(self, stats: Stats) -> Iterator[str]:
        return iter(self.urls)

    def batches(self, items: Iterator[str]) -> Iterator[list[str]]:
        yield list(items)

    def stays_here(self, url: str) -> bool:
        return True

    def texts(self, urls: Iterable[str], stats: Stats, gate: object) -> Iterator[ScanText]:
        return web_texts(list(urls), stats, self.limits)

    def refine(self, findings: list[Finding], stats: Stats, errors: list[str]) -> list[Finding]:
        return findings
