"""A stand-in GitHub / GitLab on 127.0.0.1: REST answers in the forges' documented shapes, and
bare repositories served over git's dumb http protocol (static files after
``git update-server-info``), all from one real HTTP server that records every request."""
from __future__ import annotations

import json
import os
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.test",
    "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.test",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_DATE": "@1700000000 +0000", "GIT_COMMITTER_DATE": "@1700000000 +0000",
}

Answer = tuple[int, dict[str, str], bytes]


def git(cwd: Path, *args: str) -> str:
    p = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, env=GIT_ENV)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def bare_repo(root: Path, name: str, commits: list[dict[str, str]]) -> Path:
    """``root/NAME.git``: a bare repository whose history is ``commits`` (path -> text each;
    an empty text deletes the file), ready for dumb http."""
    work = root / "_work" / name
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", "main")
    for i, files in enumerate(commits):
        for path, text in files.items():
            target = work / path
            if text:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            elif target.exists():
                target.unlink()
        git(work, "add", "-A")
        git(work, "commit", "-qm", f"commit {i}", "--allow-empty")
    bare = root / f"{name}.git"
    bare.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True, env=GIT_ENV)
    git(bare, "update-server-info")
    return bare


def answer(status: int, body: Any = b"", headers: dict[str, str] | None = None) -> Answer:
    out = dict(headers or {})
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
        out.setdefault("Content-Type", "application/json; charset=utf-8")
    return status, out, body


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Forge:
    """``api[path] = handler(query) -> Answer``; anything under ``/git/`` is a file of ``git_root``."""

    git_root: Path
    api: dict[str, Callable[[dict[str, str]], Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def __enter__(self) -> Forge:
        forge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except (ConnectionResetError, BrokenPipeError):  # git closed a kept-alive connection
                    pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                forge.seen.append(Seen(parts.path, query, {k.lower(): v for k, v in self.headers.items()}))
                if parts.path.startswith("/git/"):
                    status, headers, body = forge._file(parts.path[5:])
                else:
                    handler = forge.api.get(parts.path)
                    status, headers, body = (answer(404, {"message": "Not Found"}) if handler is None
                                             else handler(query))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _file(self, rel: str) -> Answer:
        target = (self.git_root / rel).resolve()
        if self.git_root.resolve() not in target.parents or not target.is_file():
            return 404, {"Content-Type": "text/plain"}, b"not found"
        return 200, {"Content-Type": "application/octet-stream"}, target.read_bytes()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]

    def clone_url(self, name: str) -> str:
        return f"{self.url}/git/{name}.git"


def paginated(items: list[dict[str, Any]], base: str, per_page: int,
              extra: dict[int, list[Answer]] | None = None) -> Callable[[dict[str, str]], Answer]:
    """A list answered ``per_page`` items at a time with a ``Link: <...>; rel="next"`` header;
    ``extra[page]``: answers given (once each) before that page's real one."""
    pending = {p: list(a) for p, a in (extra or {}).items()}

    def handler(query: dict[str, str]) -> Answer:
        page = int(query.get("page", "1"))
        if pending.get(page):
            return pending[page].pop(0)
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {"x-ratelimit-remaining": "4999", "x-ratelimit-reset": "1700000000"}
        if page * per_page < len(items):
            headers["Link"] = f'<{base}?per_page={per_page}&page={page + 1}>; rel="next"'
        return answer(200, chunk, headers)
    return handler
