"""A real HTTP server on 127.0.0.1 that answers as a provider documents, and records requests.

    with StandIn({("GET", "/v1/models"): reply(200, {"data": []})}) as server:
        os.environ["KEYGUARD_ENDPOINTS"] = f"api.openai.com={server.url}"

A route's handler gets the recorded request and returns (status, headers, body bytes); handlers
may be plain replies or callables (to look at the key sent, or to answer differently each time).
"""
from __future__ import annotations

import json
import threading
import time

from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union

Reply = tuple[int, dict[str, str], bytes]
Handler = Union[Reply, Callable[["Recorded"], Reply]]


@dataclass
class Recorded:
    method: str
    path: str  # path and query, as sent
    headers: dict[str, str]
    body: bytes


def reply(status: int, body: Any = b"", headers: dict[str, str] | None = None) -> Reply:
    """A fixed answer; dicts and lists become JSON."""
    out_headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        out_headers.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    return status, out_headers, body


def slow(seconds: float, then: Reply) -> Callable[[Recorded], Reply]:
    def handler(_: Recorded) -> Reply:
        time.sleep(seconds)
        return then
    return handler


def sequence(*replies: Reply) -> Callable[[Recorded], Reply]:
    """Answer with each reply in turn, repeating the last one."""
    queue = list(replies)

    def handler(_: Recorded) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]
    return handler


@dataclass
class StandIn:
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def __enter__(self) -> StandIn:
        standin = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                standin.requests.append(recorded)
                route = self.path.split("?", 1)[0]
                handler = standin.routes.get((self.command, route)) or standin.routes.get((self.command, "*"))
                status, headers, payload = (reply(404, {"error": "no such route"}) if handler is None
                                            else handler(recorded) if callable(handler) else handler)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        # a short poll interval: shutdown() waits up to one interval, and tests start many stand-ins
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"
