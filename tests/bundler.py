"""esbuild from npm (installed once into a cache folder) and a static site served from 127.0.0.1."""
from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest

CACHE = Path(os.environ.get("KEYGUARD_TEST_CACHE", Path.home() / ".cache" / "keyguard-tests"))


def esbuild_exe() -> Path:
    """The esbuild binary; installed from npm on first use, or the test is skipped with the reason."""
    exe = CACHE / "esbuild" / "node_modules" / ".bin" / "esbuild"
    if exe.exists():
        return exe
    if shutil.which("npm") is None:
        pytest.skip("npm not found: the bundle tests need esbuild from npm")
    (CACHE / "esbuild").mkdir(parents=True, exist_ok=True)
    with open(CACHE / "esbuild" / ".lock", "w") as lock:
        _lock(lock)  # test workers (pytest -n) install it once, one at a time
        if not exe.exists():
            r = subprocess.run(["npm", "install", "--no-save", "--silent", "esbuild"], cwd=CACHE / "esbuild",
                               capture_output=True, text=True, timeout=300)
            if r.returncode != 0 or not exe.exists():
                pytest.skip(f"could not install esbuild from npm: {r.stderr.strip()[:200]}")
    return exe


def _lock(fh: object) -> None:
    try:
        import fcntl
    except ImportError:  # no flock (Windows): unlocked
        return
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # type: ignore[attr-defined]


def bundle(esbuild: Path, *args: str) -> None:
    r = subprocess.run([str(esbuild), *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that records each request's path and User-Agent."""

    requests: list[tuple[str, str]]

    def log_message(self, *a: object) -> None:
        pass

    def do_GET(self) -> None:
        self.requests.append((self.path, self.headers.get("User-Agent", "")))
        super().do_GET()


@contextlib.contextmanager
def serve(directory: Path, handler: type[QuietHandler] = QuietHandler) -> Iterator[tuple[str, list]]:
    """``(base URL, requests seen)`` of a threaded HTTP server for ``directory`` on 127.0.0.1."""
    seen: list[tuple[str, str]] = []
    cls = type("Handler", (handler,), {"requests": seen})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **kw: cls(*a, directory=str(directory), **kw))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()
