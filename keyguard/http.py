"""The one HTTP client that carries credentials: live checks and owner-side audits.

A key only ever goes to its provider's fixed https host. Callers name the host (a constant in
their module) and a path; this module builds the URL, so nothing read from a scanned repo can
change where a key is sent. Redirects are never followed, cookies are never kept, every request
has a time-out, each host is rate limited, and a transient failure is retried once.

The single override is the environment variable ``KEYGUARD_ENDPOINTS``, for tests and local
gateways: ``host=base_url`` pairs, comma-separated (``*.openai.azure.com=...`` matches any
sub-domain). Only loopback base URLs are accepted. While it is set, any host it does not list is
refused, so a test can never reach a real provider.
"""
from __future__ import annotations

import ipaddress
import os
import re
import threading
import time

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import urlsplit

from . import __version__

if TYPE_CHECKING:
    import requests

ENDPOINTS_VARIABLE = "KEYGUARD_ENDPOINTS"
USER_AGENT = f"keyguard/{__version__} (+secret scanner live check)"
DEFAULT_TIMEOUT = (5.0, 15.0)  # connect, read (seconds)
DEFAULT_MIN_INTERVAL = 0.2  # seconds between two requests to one host: 5 per second
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
MAX_RETRY_AFTER = 10.0  # seconds we are willing to wait on a 429 before the one retry
MAX_BODY_BYTES = 4 * 1024 * 1024  # a provider's metadata answer is small
TOTAL_DEADLINE = 30.0  # seconds to read one body, however slowly it trickles

_HOST = re.compile(r"(?:\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")


class EndpointError(ValueError):
    """KEYGUARD_ENDPOINTS is malformed or points away from loopback, or a host is refused."""


class RequestFailed(Exception):
    """The request did not produce a response. The message never holds the URL or a header."""


def is_loopback(hostname: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1): where plain http is acceptable."""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_endpoints(value: str) -> dict[str, str]:
    """``host=base_url,...`` to a mapping; raise EndpointError unless every target is loopback."""
    endpoints: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        host, sep, base = item.partition("=")
        host, base = host.strip().lower(), base.strip().rstrip("/")
        if not sep or not _HOST.fullmatch(host):
            raise EndpointError(f"{ENDPOINTS_VARIABLE}: expected host=base_url, got {item!r}")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EndpointError(f"{ENDPOINTS_VARIABLE}: {host}: base URL must be http(s)://127.0.0.1:PORT")
        if not is_loopback(parts.hostname):
            raise EndpointError(
                f"{ENDPOINTS_VARIABLE}: {host}: only loopback targets are accepted, not {parts.hostname}")
        endpoints[host] = base
    return endpoints


def endpoints_from_environment(environ: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """The override mapping, or None when the variable is unset (real providers)."""
    value = (os.environ if environ is None else environ).get(ENDPOINTS_VARIABLE)
    return None if value is None else parse_endpoints(value)


@dataclass
class _HostGate:
    """Spaces requests to one host at least ``min_interval`` apart, across threads."""

    min_interval: float
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    next_slot: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self) -> None:
        with self.lock:
            now = self.clock()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.min_interval
        if slot > now:
            self.sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """After a 429: no request to this host for ``seconds``."""
        with self.lock:
            self.next_slot = max(self.next_slot, self.clock() + seconds)


class CredentialClient:
    """Sends requests to fixed provider hosts; see the module docstring for the rules."""

    def __init__(
        self,
        endpoints: dict[str, str] | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoints = endpoints
        self.timeout = timeout
        self.min_interval = min_interval
        self._clock, self._sleep = clock, sleep
        self._gates: dict[str, _HostGate] = {}
        self._gates_lock = threading.Lock()
        self._local = threading.local()

    @classmethod
    def from_environment(cls, **kwargs: Any) -> CredentialClient:
        return cls(endpoints_from_environment(), **kwargs)

    # -- routing ---------------------------------------------------------------------------
    def url_for(self, host: str, path: str) -> str:
        """Where a request for ``host`` + ``path`` goes. Raises EndpointError if refused."""
        host = host.lower()
        if not _HOST.fullmatch(host) or host.startswith("*."):
            raise EndpointError(f"refusing to send a credential to {host!r}: not a host name")
        if not path.startswith("/") or "://" in path or path.startswith("//"):
            raise EndpointError(f"refusing path {path[:40]!r}: must be an absolute path")
        if self.endpoints is None:
            return f"https://{host}{path}"
        base = self.endpoints.get(host)
        if base is None:
            base = next((target for pattern, target in self.endpoints.items()
                         if pattern.startswith("*.") and host.endswith(pattern[1:])), None)
        if base is None:
            raise EndpointError(
                f"refusing to contact {host}: {ENDPOINTS_VARIABLE} is set and does not list it")
        return base + path

    def _gate(self, host: str) -> _HostGate:
        with self._gates_lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = self._gates[host] = _HostGate(self.min_interval, self._clock, self._sleep)
            return gate

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            import http.cookiejar

            import requests

            session = requests.Session()
            session.trust_env = False  # no .netrc credentials, no proxy from a scanned repo's env
            session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
            session.headers["User-Agent"] = USER_AGENT
            self._local.session = session
        return session

    # -- requests --------------------------------------------------------------------------
    def request(
        self,
        method: str,
        host: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
    ) -> requests.Response:
        """One request with one retry on a transient failure. Never follows a redirect."""
        import requests

        url = self.url_for(host, path)
        proxies = None
        if self.endpoints is None:
            proxies = requests.utils.get_environ_proxies(url)  # the user's proxy, not a file's
        gate = self._gate(host.lower())
        last_error = ""
        for attempt in range(2):
            gate.wait()
            try:
                response = self._session().request(
                    method, url, headers=dict(headers or {}), params=params, json=json, data=data,
                    timeout=self.timeout, allow_redirects=False, proxies=proxies, stream=True)
                response._content = self._read_body(response, host)
            except requests.Timeout:
                last_error = f"{host}: timed out"
            except requests.ConnectionError:
                last_error = f"{host}: connection failed"
            except requests.RequestException as error:
                raise RequestFailed(f"{host}: {type(error).__name__}") from None
            else:
                if attempt == 0 and response.status_code == 429:
                    wait = retry_after_seconds(response.headers.get("retry-after"))
                    if wait is not None and wait <= MAX_RETRY_AFTER:
                        gate.hold(wait)
                        continue
                if attempt == 0 and response.status_code in TRANSIENT_STATUSES:
                    continue
                return response
        if last_error:
            raise RequestFailed(last_error)
        return response

    def _read_body(self, response: requests.Response, host: str) -> bytes:
        """The body, at most MAX_BODY_BYTES, within TOTAL_DEADLINE of the first byte."""
        started, chunks, size = self._clock(), [], 0
        try:
            for chunk in response.iter_content(65536):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY_BYTES or self._clock() - started > TOTAL_DEADLINE:
                    break
        finally:
            response.close()
        return b"".join(chunks)[:MAX_BODY_BYTES]

    def get(self, host: str, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", host, path, **kwargs)

    def post(self, host: str, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", host, path, **kwargs)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds; None if absent or a date."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)
