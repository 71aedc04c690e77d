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
from . import WebError
from .web_links import Link, links, url_path

USER_AGENT = f"keyguard/{__version__} (secret scanner; +https://github.com/keyguard)"
MAX_REDIRECTS = 5
MAX_LISTED = 1000  # fetched resources listed one by one in the JSON stats

PROBES = (".vite/manifest.json", "manifest.json")
TEXT_TYPES = ("text/", "javascript", "json", "wasm", "xml", "ecmascript")
ASSET_EXTENSIONS = (".js", ".mjs", ".cjs", ".css", ".json", ".map", ".wasm", ".html", ".htm")


@dataclass
class Limits:
    max_pages: int = 200
    max_bytes: int = 50 * 2**20
    max_seconds: int = 120
    timeout: int = 10
    max_depth: int = 3
    same_origin: bool = True


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
        for found in links(got.url, text, got.headers, link.depth):
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
            if ctype and not any(t in ctype for t in TEXT_TYPES) and not url_path(url).endswith(ASSET_EXTENSIONS):
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
