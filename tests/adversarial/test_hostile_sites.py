"""URL scans of a hostile site served from 127.0.0.1: every trap ends at a limit the user can
see and set (--max-pages, --max-mb, --max-time, --timeout), and the reason is in the stats.

The server is bounded too: an endless response stops by itself after a few seconds or MiB."""
from __future__ import annotations

import functools
import gzip
import http.server
import json
import threading
import time
import zlib
from pathlib import Path
from typing import Callable, Iterator

import pytest

from keyguard.model import Stats
from keyguard.sources import web

from ..helpers import key, keyguard

GEMINI = key("google-api-key", 501)
OPENAI = key("openai-project-key", 502)
SERVER_STREAM_SECONDS = 20  # an endless response ends here at the latest
SERVER_STREAM_BYTES = 64 * 2**20


@functools.lru_cache(maxsize=None)  # built once for the tests that serve it (seconds of CPU)
def _gzip_bomb(decoded_mib: int) -> bytes:
    """Gzip of ``decoded_mib`` MiB of zeros (about a thousandth of that on the wire)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * 2**20
    return b"".join([*(z.compress(zeros) for _ in range(decoded_mib)), z.flush()])


class Site:
    """Routes: path -> (status, headers, body) or a generator of body blocks (sent chunked)."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[], tuple[int, dict[str, str], bytes | Iterator[bytes]]]] = {}
        self.completed: list[str] = []  # streamed paths the client read to the very end
        self.hits: list[str] = []

    def page(self, path: str, body: str | bytes, ctype: str = "text/html", status: int = 200,
             headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = lambda: (status, {"Content-Type": ctype, **(headers or {})}, data)

    def stream(self, path: str, blocks: Callable[[], Iterator[bytes]], ctype: str = "application/javascript",
               chunked: bool = True) -> None:
        headers = {"Content-Type": ctype}
        if not chunked:
            headers["Content-Length"] = str(10 * SERVER_STREAM_BYTES)  # promised, never all sent
        self.routes[path] = lambda: (200, headers, blocks())

    def raw(self, path: str, blocks: Callable[[], Iterator[bytes]]) -> None:
        """Bytes sent as they are, status line and headers included."""
        self.routes[path] = lambda: (0, {}, blocks())

    def redirect(self, path: str, location: str) -> None:
        self.routes[path] = lambda: (302, {"Location": location}, b"")


@pytest.fixture
def site():
    s = Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            s.hits.append(path)
            route = s.routes.get(path)
            status, headers, body = route() if route else (404, {}, b"not found")
            try:
                if status == 0:  # raw
                    for block in body:
                        self.wfile.write(block)
                        self.wfile.flush()
                    s.completed.append(path)
                    self.close_connection = True
                    return
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if isinstance(body, bytes):
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                chunked = "Content-Length" not in headers
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for block in body:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
                    self.wfile.flush()
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
                s.completed.append(path)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # keyguard hanging up on an endless response is the point, not an error

    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    s.url = f"http://127.0.0.1:{httpd.server_address[1]}"  # type: ignore[attr-defined]
    s.port = httpd.server_address[1]  # type: ignore[attr-defined]
    yield s
    httpd.shutdown()
    httpd.server_close()


def scan_url(url: str, *args: str, cwd: Path) -> dict:
    r = keyguard("scan", url, "--format", "json", *args, cwd=cwd)
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout)


def reasons(doc: dict) -> dict[str, str]:
    """Skipped path -> reason, but for the well-known manifests every start page is probed for."""
    return {p["path"]: p["reason"] for p in doc["stats"]["skipped_paths"]
            if not p["reason"].startswith("well-known manifest absent")}


def endless(block: bytes, pause: float = 0.0) -> Callable[[], Iterator[bytes]]:
    def blocks() -> Iterator[bytes]:
        started, sent = time.monotonic(), 0
        while time.monotonic() - started < SERVER_STREAM_SECONDS and sent < SERVER_STREAM_BYTES:
            yield block
            sent += len(block)
            if pause:
                time.sleep(pause)
    return blocks


def test_redirect_loop_and_redirects_to_another_host_are_refused(site, tmp_path):
    site.page("/", '<script src="/loop-a.js"></script><script src="/away.js"></script>'
                   '<script src="/creds.js"></script><script src="/ok.js"></script>')
    site.redirect("/loop-a.js", "/loop-b.js")
    site.redirect("/loop-b.js", "/loop-a.js")
    # localhost is this very server: followed, it would serve the key
    site.redirect("/away.js", f"http://localhost:{site.port}/key.js")
    # the same host, but requests would send the user:password as Basic auth
    site.redirect("/creds.js", site.url.replace("http://", "http://u:pw-of-the-site@") + "/key.js")
    site.page("/key.js", f'var k="{GEMINI}";', "application/javascript")
    site.page("/ok.js", "var ok = 1;", "application/javascript")
    doc = scan_url(site.url + "/", cwd=tmp_path)
    assert doc["findings"] == []
    skipped = doc["stats"]["skipped"]
    assert skipped["more than 5 redirects"] == 1
    assert skipped["redirect to another host refused (localhost)"] == 1
    assert skipped["redirect to a URL with credentials refused"] == 1
    assert "/key.js" not in site.hits
    assert doc["stats"]["files"] == 2  # the page and ok.js


def test_endless_chunked_response_stops_at_max_mb(site, tmp_path):
    site.page("/", f'<script src="/endless.js"></script><script src="/app.js"></script>')
    site.stream("/endless.js", endless(b"var x = 1;\n" * 6000))
    site.page("/app.js", f'var k="{GEMINI}";', "application/javascript")
    doc = scan_url(site.url + "/", "--max-mb", "2", cwd=tmp_path)
    assert "/endless.js" not in site.completed
    assert reasons(doc) == {site.url + "/endless.js": "limit: --max-mb reached"}
    assert [f["path"] for f in doc["findings"]] == [site.url + "/app.js"]


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_trickling_response_stops_at_max_time(site, tmp_path, chunked):
    """A few bytes every 50 ms keeps every socket read under --timeout, forever: --max-time ends it."""
    site.page("/", '<script src="/trickle.js"></script><script src="/later.js"></script>')
    site.stream("/trickle.js", endless(b"/* . */", pause=0.05), chunked=chunked)
    site.page("/later.js", "var later = 1;", "application/javascript")
    doc = scan_url(site.url + "/", "--max-time", "2", "--timeout", "5", cwd=tmp_path)
    assert "/trickle.js" not in site.completed
    skipped = reasons(doc)
    assert skipped[site.url + "/trickle.js"] == "limit: --max-time reached"
    assert skipped[site.url + "/later.js"] == "limit: --max-time reached"


@pytest.mark.parametrize("layers", [1, 2], ids=["gzip", "gzip-of-gzip"])
def test_gzip_bomb_is_cut_at_max_mb_without_expanding(site, tmp_path, layers):
    """1 GiB of zeros in ~1 MiB of gzip (gzipped again: ~3 KiB, "Content-Encoding: gzip, gzip",
    which urllib3 decodes layer by layer); keyguard runs with 768 MiB of address space at most,
    so expanding the bomb would fail with a MemoryError rather than pass."""
    import resource
    import subprocess
    import sys

    bomb = _gzip_bomb(1024)
    if layers == 2:
        bomb = gzip.compress(bomb, 9)
    site.page("/", '<script src="/bomb.js"></script><script src="/app.js"></script>')
    site.page("/bomb.js", bomb, "application/javascript", headers={"Content-Encoding": ", ".join(["gzip"] * layers)})
    site.page("/app.js", gzip.compress(f'var k="{GEMINI}";'.encode()), "application/javascript",
              headers={"Content-Encoding": "gzip"})
    limit = 768 * 2**20

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    r = subprocess.run([sys.executable, "-m", "keyguard", "scan", site.url + "/", "--format", "json",
                        "--max-mb", "8"], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                       preexec_fn=cap)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    doc = json.loads(r.stdout)
    assert reasons(doc) == {site.url + "/bomb.js": "limit: --max-mb reached"}
    assert [f["path"] for f in doc["findings"]] == [site.url + "/app.js"]  # gzip itself works


def test_thousands_of_scripts_stop_at_max_pages(site, tmp_path):
    n = 3000
    site.page("/", "".join(f'<script src="/s{i}.js"></script>' for i in range(n)))
    for i in range(n):
        site.page(f"/s{i}.js", f"var s{i} = {i};", "application/javascript")
    doc = scan_url(site.url + "/", "--max-pages", "25", cwd=tmp_path)
    stats = doc["stats"]
    assert stats["files"] == 25
    # the page and 24 scripts fetched: the other scripts and the two manifest probes are not
    assert stats["skipped"] == {"limit: --max-pages reached": n - 24 + 2}
    assert len(stats["skipped_paths"]) == 1000  # the list is capped, the count is not
    assert len(site.hits) == 25


def test_huge_source_map_is_scanned_or_cut_at_max_mb(site, tmp_path):
    filler = "x".join(f"const v{i} = {i};\n" for i in range(200_000))  # ~3.5 MB of source
    source = filler + f'const openai = "{OPENAI}";\n'
    big_map = json.dumps({"version": 3, "sources": ["src/big.ts"], "sourcesContent": [source],
                          "mappings": ""})
    site.page("/", '<script src="/big.js"></script>')
    site.page("/big.js", "var a=1;\n//# sourceMappingURL=big.js.map\n", "application/javascript")
    site.page("/big.js.map", big_map, "application/json")
    doc = scan_url(site.url + "/", cwd=tmp_path)
    assert [(f["path"], f["rule_id"]) for f in doc["findings"]] == [
        (site.url + "/big.js.map", "openai-project-key")]
    doc = scan_url(site.url + "/", "--max-mb", "1", cwd=tmp_path)
    assert doc["findings"] == []
    assert reasons(doc) == {site.url + "/big.js.map": "limit: --max-mb reached"}


def test_a_public_page_cannot_send_the_crawl_to_a_private_address(site, monkeypatch):
    """With --cross-origin, a script on a private address is refused when the start URL looked
    public (here 127.0.0.1 plays the public site and localhost the private network)."""
    site.page("/", f'<script src="http://localhost:{site.port}/internal.js"></script>')
    site.page("/internal.js", f'var k="{GEMINI}";', "application/javascript")
    limits = web.Limits(same_origin=False, timeout=5)
    monkeypatch.setattr(web, "is_private_host", lambda host: host == "localhost")
    stats = Stats()
    texts = list(web.web_texts([site.url + "/"], stats, limits))
    assert [t.path for t in texts] == [site.url + "/"]
    assert stats.skipped["private address refused (the start URL was public)"] == 1
    assert "/internal.js" not in site.hits
    # from a private start URL the same script is fetched: the refusal above is the rule at work
    monkeypatch.setattr(web, "is_private_host", lambda host: True)
    stats = Stats()
    texts = list(web.web_texts([site.url + "/"], stats, limits))
    assert [t.path for t in texts] == [site.url + "/", f"http://localhost:{site.port}/internal.js"]


def test_links_in_a_page_of_unclosed_tags_are_read_in_linear_time(site, tmp_path):
    """Half a million unclosed <script tags (4 MB): the old tag regex rescanned the page for
    each one (hours); the scan must finish and still read the one real script tag."""
    site.page("/", "<script " * 500_000 + '\n<script src="/app.js"></script>')
    site.page("/app.js", f'var k="{GEMINI}";', "application/javascript")
    doc = scan_url(site.url + "/", cwd=tmp_path)
    assert [f["path"] for f in doc["findings"]] == [site.url + "/app.js"]


def test_a_chain_of_chunks_stops_at_max_depth(site, tmp_path):
    """Each chunk imports the next, without end (a generated route): --max-depth ends it."""
    site.page("/", '<script src="/c1.js"></script>')
    for i in range(1, 40):
        site.page(f"/c{i}.js", f'import("./c{i + 1}.js"); var c{i} = {i};', "application/javascript")
    doc = scan_url(site.url + "/", "--max-depth", "4", cwd=tmp_path)
    assert [f["url"] for f in doc["stats"]["web"]["fetched"]] == [site.url + "/"] + [
        f"{site.url}/c{i}.js" for i in range(1, 5)]
    assert reasons(doc) == {site.url + "/c5.js": "limit: --max-depth reached"}
    assert "/c5.js" not in site.hits


def test_a_redirect_to_a_private_address_is_refused_when_the_start_was_public(site, monkeypatch):
    """The same host name resolving to a private address by the time a redirect is followed (DNS
    rebinding): refused. The resolver seam is ``is_private_host``; no real DNS is asked."""
    site.page("/", '<script src="/moved.js"></script>')
    site.redirect("/moved.js", "/internal.js")
    site.page("/internal.js", f'var k="{GEMINI}";', "application/javascript")
    answers = iter([False])  # public at the start, private from then on
    monkeypatch.setattr(web, "is_private_host", lambda host: next(answers, True))
    stats = Stats()
    texts = list(web.web_texts([site.url + "/"], stats, web.Limits(timeout=5)))
    assert [t.path for t in texts] == [site.url + "/"]
    assert {p["path"]: p["reason"] for p in stats.skipped_paths}[site.url + "/moved.js"] == (
        "redirect to a private address refused")
    assert "/internal.js" not in site.hits


@pytest.mark.parametrize("address, private", [
    ("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.9", True), ("100.64.0.1", True),
    ("169.254.169.254", True), ("0.0.0.0", True), ("224.0.0.1", True), ("::1", True),
    ("fe80::1%eth0", True), ("fd00::5", True), ("::ffff:10.0.0.1", True),
    ("93.184.216.34", False), ("2606:4700::1111", False), ("::ffff:93.184.216.34", False),
])
def test_which_addresses_count_as_private(monkeypatch, address, private):
    """``is_private_host`` over what the resolver answers (socket.getaddrinfo, stubbed: no DNS).
    One private address among public ones is enough."""
    def resolve(host: str, port: object, *a: object) -> list:
        return [(2, 1, 6, "", ("93.184.216.35", 0)), (2, 1, 6, "", (address, 0))]

    monkeypatch.setattr(web.socket, "getaddrinfo", resolve)
    assert web.is_private_host("site.example") is private


def test_headers_trickling_in_stop_at_max_time(site, tmp_path):
    """A status line, then one header byte every 50 ms: each socket read returns within
    --timeout and the headers never end. Only --max-time can stop it (a timer around the whole
    request; the body checks alone never ran, and the scan took as long as the server liked)."""
    def slow_headers() -> Iterator[bytes]:
        yield b"HTTP/1.1 200 OK\r\nContent-Type: application/javascript\r\nX-Slow: "
        yield from endless(b"a", pause=0.05)()

    site.page("/", '<script src="/slow.js"></script><script src="/later.js"></script>')
    site.raw("/slow.js", slow_headers)
    site.page("/later.js", "var later = 1;", "application/javascript")
    doc = scan_url(site.url + "/", "--max-time", "2", "--timeout", "5", cwd=tmp_path)
    assert "/slow.js" not in site.completed  # keyguard hung up; it did not wait the server out
    skipped = reasons(doc)
    assert skipped[site.url + "/slow.js"] == "limit: --max-time reached"
    assert skipped[site.url + "/later.js"] == "limit: --max-time reached"
    assert doc["stats"]["files"] == 1
