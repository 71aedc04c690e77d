"""``keyguard scan https://site/``: a bounded crawl of a page, its scripts and their source maps.

Plain GETs with a keyguard User-Agent, no cookies or credentials, a time-out per request, and
limits on resources, bytes and time. Redirects are followed by hand: never to another host, and
never from a public start URL to a private or loopback address. Each resource's URL is its path.
"""
from __future__ import annotations

import ipaddress
import re
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import urljoin, urlsplit

from .. import __version__
from ..model import ScanText, Stats

USER_AGENT = f"keyguard/{__version__} (secret scanner; +https://github.com/keyguard)"
MAX_REDIRECTS = 5
SCRIPT_SRC = re.compile(r"""<script\b[^>]*?\bsrc\s*=\s*["']?([^"'\s>]+)""", re.I)
LINK_HREF = re.compile(r"""<link\b[^>]*?\bhref\s*=\s*["']?([^"'\s>]+\.(?:m?js|css|json|map))["'\s>]""", re.I)
IMPORT_CHUNK = re.compile(r"""(?:import\(\s*|["'])(\.{0,2}/?[\w./-]*\.m?js)["']""")
MAP_URL = re.compile(r"[#@]\s*sourceMappingURL=([^\s'\"*]+)")


class WebError(Exception):
    """The start URL cannot be scanned at all."""


@dataclass
class Limits:
    max_pages: int = 200
    max_bytes: int = 50 * 2**20
    max_seconds: int = 120
    timeout: int = 10
    same_origin: bool = True


def is_private_host(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved:
            return True
    return False


def web_texts(urls: list[str], stats: Stats, limits: Limits) -> Iterator[ScanText]:
    import requests  # lazily: start-up time

    session = requests.Session()
    session.trust_env = False  # no .netrc credentials, no proxies from the environment
    from http.cookiejar import DefaultCookiePolicy

    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # accept no cookies
    session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"})
    started = time.monotonic()
    downloaded = 0
    fetched = 0
    progress = sys.stderr.isatty()
    for start in urls:
        start_host = urlsplit(start).hostname or ""
        start_public = not is_private_host(start_host)
        origin = _origin(start)
        queue: list[str] = [start]
        seen: set[str] = set()
        while queue:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            if fetched >= limits.max_pages:
                stats.skip(url, "limit: --max-pages reached")
                continue
            if downloaded >= limits.max_bytes:
                stats.skip(url, "limit: --max-mb reached")
                continue
            if time.monotonic() - started > limits.max_seconds:
                stats.skip(url, "limit: --max-time reached")
                continue
            if limits.same_origin and _origin(url) != origin:
                stats.skip(url, "other origin (use --cross-origin)")
                continue
            if progress:
                sys.stderr.write(f"\rkeyguard: fetched {fetched}, {downloaded // 1024} KiB: {url[:80]}\x1b[K")
            got = _get(session, url, start_host, start_public, limits, limits.max_bytes - downloaded, stats)
            if got is None:
                if url == start and fetched == 0:
                    raise _start_failed(stats, start)
                continue
            final_url, body, headers = got
            fetched += 1
            downloaded += len(body)
            stats.files += 1
            stats.bytes += len(body)
            text = body.decode("utf-8", "replace")
            yield ScanText(text, final_url)
            queue.extend(_links(final_url, text, headers))
    if progress:
        sys.stderr.write("\r\x1b[K")


def _start_failed(stats: Stats, start: str) -> WebError:
    reasons = [p["reason"] for p in stats.skipped_paths if p["path"] == start]
    return WebError(f"{start}: {reasons[-1] if reasons else 'could not fetch'}")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _get(session: Any, url: str, start_host: str, start_public: bool, limits: Limits,
         budget: int, stats: Stats) -> tuple[str, bytes, Any] | None:
    import requests

    for _ in range(MAX_REDIRECTS + 1):
        try:
            resp = session.get(url, timeout=limits.timeout, allow_redirects=False, stream=True)
        except requests.RequestException as exc:
            stats.skip(url, f"fetch failed ({exc.__class__.__name__})")
            return None
        with resp:
            if resp.is_redirect:
                target = urljoin(url, resp.headers.get("Location", ""))
                host = urlsplit(target).hostname or ""
                if host.lower() != start_host.lower():
                    stats.skip(url, f"redirect to another host refused ({host})")
                    return None
                if start_public and is_private_host(host):
                    stats.skip(url, "redirect to a private address refused")
                    return None
                url = target
                continue
            if resp.status_code != 200:
                stats.skip(url, f"HTTP {resp.status_code}")
                return None
            body = b""
            try:
                for block in resp.iter_content(65536):
                    body += block
                    if len(body) > budget:
                        stats.skip(url, "limit: --max-mb reached")
                        return None
            except requests.RequestException as exc:
                stats.skip(url, f"fetch failed ({exc.__class__.__name__})")
                return None
            return url, body, resp.headers
    stats.skip(url, f"more than {MAX_REDIRECTS} redirects")
    return None


def _links(url: str, text: str, headers: Any) -> list[str]:
    """Scripts, chunks and source maps a resource points to (absolute URLs)."""
    found: list[str] = []
    ctype = headers.get("Content-Type", "")
    if "html" in ctype:
        found += SCRIPT_SRC.findall(text) + LINK_HREF.findall(text)
    elif url.split("?")[0].endswith((".js", ".mjs", ".cjs", ".css")) or "javascript" in ctype:
        found += [m for m in MAP_URL.findall(text) if not m.startswith("data:")]
        found += IMPORT_CHUNK.findall(text)
    elif url.split("?")[0].endswith(("manifest.json", "_buildManifest.js")):
        found += re.findall(r'"([\w./-]+\.m?js)"', text)
    header_map = headers.get("SourceMap") or headers.get("X-SourceMap")
    if header_map:
        found.append(header_map)
    return [urljoin(url, f).split("#")[0] for f in found]
