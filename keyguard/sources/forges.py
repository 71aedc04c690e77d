"""GitHub and GitLab REST APIs: an organisation's (group's) repositories, and a repository's
recent GitHub Actions runs with their logs.

Every request has a time-out and goes only to the API's own origin (next-page links elsewhere
are refused), never following a redirect with the token. Rate limits are honoured: a
``Retry-After`` or an exhausted ``x-ratelimit-remaining`` / ``RateLimit-Remaining`` waits for the
reset when that is near, and is one clear error otherwise. A 5xx or a dropped connection is
retried a few times with growing pauses. Plain http is accepted only for a loopback host
(a test's stand-in, a local gateway).
"""
from __future__ import annotations

import fnmatch
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import quote, urlsplit

from .. import __version__
from ..http import is_loopback, retry_after_seconds

if TYPE_CHECKING:
    import requests

GITHUB_API = "https://api.github.com"
GITLAB_URL = "https://gitlab.com"
USER_AGENT = f"keyguard/{__version__} (secret scanner; repository listing)"
TIMEOUT = (10.0, 60.0)
MAX_RETRIES = 4  # 5xx and dropped connections
MAX_RATE_WAIT = 120.0  # seconds keyguard waits for a rate limit to reset before giving up
MAX_PAGES = 1000
MAX_ZIP_BYTES = 512 * 1024 * 1024
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class ForgeError(Exception):
    """The forge cannot answer what was asked: one line, never holding a token."""


class NotFound(ForgeError):
    pass


@dataclass(frozen=True)
class RepoInfo:
    name: str  # OWNER/REPO, GROUP/SUB/REPO
    clone_url: str
    fork: bool = False
    archived: bool = False


def check_base(url: str, flag: str) -> str:
    """An API base URL: https, or plain http to a loopback host only; no credentials."""
    parts = urlsplit(url.rstrip("/"))
    if parts.scheme not in ("https", "http") or not parts.hostname or "@" in parts.netloc:
        raise ForgeError(f"{flag}: expected https://HOST[/PATH], got {url!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ForgeError(f"{flag}: plain http is accepted only for a loopback host; use https://")
    return url.rstrip("/")


def web_host(api_base: str) -> str:
    """The host a forge's git URLs are on: ``api.github.com`` serves ``github.com``."""
    host = urlsplit(api_base).netloc.lower()
    return "github.com" if host == "api.github.com" else host


class Api:
    """GET requests to one API origin, with its token in the header the forge expects."""

    def __init__(self, base: str, headers: Mapping[str, str], *, max_wait: float = MAX_RATE_WAIT,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 timeout: tuple[float, float] = TIMEOUT) -> None:
        self.base, self.headers, self.max_wait = base, dict(headers), max_wait
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(base)).lower()
        self._sleep, self._clock, self.timeout = sleep, clock, timeout
        self._not_before = 0.0
        self._session: requests.Session | None = None
        self.requests = 0

    def _http(self) -> requests.Session:
        if self._session is None:
            from http.cookiejar import DefaultCookiePolicy

            import requests

            s = requests.Session()
            s.trust_env = False  # no .netrc credentials sent along
            s.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            s.headers["User-Agent"] = USER_AGENT
            self._session = s
        return self._session

    def proxies(self, url: str) -> dict[str, str] | None:
        import requests

        host = urlsplit(url).hostname or ""
        return None if is_loopback(host) else requests.utils.get_environ_proxies(url)

    def _wait_for(self, seconds: float, why: str) -> None:
        if seconds > self.max_wait:
            resume = time.strftime("%H:%M UTC", time.gmtime(self._clock() + seconds))
            raise ForgeError(f"{self.origin}: {why} until {resume}; run again then "
                             "(with --state DIR, finished repositories are kept)")
        self._sleep(max(0.0, seconds))

    def _rate_wait(self, r: requests.Response) -> float | None:
        """Seconds to wait before asking again, if ``r`` says the rate limit is spent."""
        h = r.headers
        retry = retry_after_seconds(h.get("retry-after"))
        remaining = h.get("x-ratelimit-remaining", h.get("ratelimit-remaining"))
        reset = h.get("x-ratelimit-reset", h.get("ratelimit-reset"))
        if r.status_code in (403, 429):
            if retry is not None:
                return retry
            if remaining == "0" and reset and reset.isdigit():
                return max(0.0, int(reset) - self._clock()) + 1
            if r.status_code == 429:
                return 60.0
        return None

    def get(self, path_or_url: str, params: Mapping[str, str] | None = None,
            headers: Mapping[str, str] | None = None) -> requests.Response:
        import requests

        url = path_or_url if "://" in path_or_url else self.base + path_or_url
        if not url.lower().startswith(self.origin + "/"):
            raise ForgeError(f"{self.origin}: refusing to follow a link to another host")
        last = ""
        for attempt in range(MAX_RETRIES + 1):
            if self._not_before > self._clock():
                self._wait_for(self._not_before - self._clock(), "rate limit reached")
            try:
                self.requests += 1
                r = self._http().get(url, params=params, headers={**self.headers, **(headers or {})},
                                     timeout=self.timeout, allow_redirects=False,
                                     proxies=self.proxies(url))
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
                self._sleep(min(2 ** attempt, 30))
                continue
            wait = self._rate_wait(r)
            if wait is not None:
                self._wait_for(wait, f"rate limited (HTTP {r.status_code})")
                continue
            if r.status_code >= 500:
                last = f"HTTP {r.status_code}"
                self._sleep(min(2 ** attempt, 30))
                continue
            remaining = r.headers.get("x-ratelimit-remaining", r.headers.get("ratelimit-remaining"))
            reset = r.headers.get("x-ratelimit-reset", r.headers.get("ratelimit-reset"))
            if remaining == "0" and reset and reset.isdigit():
                self._not_before = float(reset) + 1
            return r
        raise ForgeError(f"{self.origin}: {last} after {MAX_RETRIES + 1} attempts")

    def json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        r = self.get(path, params)
        _check(r, path)
        try:
            return r.json()
        except ValueError:
            raise ForgeError(f"{self.origin}{path}: not a JSON answer") from None

    def pages(self, path: str, params: Mapping[str, str]) -> Iterator[Any]:
        """Each item of a paginated list, following ``Link: <...>; rel="next"``."""
        url: str | None = path
        query: Mapping[str, str] | None = params
        for _ in range(MAX_PAGES):
            if url is None:
                return
            r = self.get(url, query)
            _check(r, path)
            try:
                items = r.json()
            except ValueError:
                raise ForgeError(f"{self.origin}{path}: not a JSON answer") from None
            if isinstance(items, dict):  # GitHub's runs: {"total_count", "workflow_runs": [...]}
                items = next((v for v in items.values() if isinstance(v, list)), [])
            if not isinstance(items, list):
                raise ForgeError(f"{self.origin}{path}: expected a list")
            yield from items
            m = _NEXT.search(r.headers.get("link", ""))
            url, query = (m.group(1), None) if m else (None, None)


def _check(r: requests.Response, path: str) -> None:
    if r.status_code == 404:
        raise NotFound(f"{path}: not found (HTTP 404)")
    if r.status_code in (401, 403):
        raise ForgeError(f"{path}: access denied (HTTP {r.status_code}); check the token's scopes")
    if r.status_code != 200:
        raise ForgeError(f"{path}: HTTP {r.status_code}")


def quote_path(name: str) -> str:
    """OWNER/REPO as two path segments, whatever characters they hold."""
    return "/".join(quote(part, safe="") for part in name.split("/"))


# -- listing repositories ---------------------------------------------------------------------------
def github_api(base: str = GITHUB_API, token: str | None = None, **kw: Any) -> Api:
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return Api(check_base(base, "--github-api-url"), headers, **kw)


def gitlab_api(base: str = GITLAB_URL, token: str | None = None, **kw: Any) -> Api:
    headers = {"PRIVATE-TOKEN": token} if token else {}
    return Api(check_base(base, "--gitlab-url") + "/api/v4", headers, **kw)


def github_repos(api: Api, owner: str) -> list[RepoInfo]:
    """An organisation's repositories, or a user's when no organisation has that name."""
    params = {"per_page": "100", "type": "all", "sort": "full_name"}
    try:
        items = list(api.pages(f"/orgs/{quote(owner, safe='')}/repos", params))
    except NotFound:
        items = list(api.pages(f"/users/{quote(owner, safe='')}/repos", {**params, "type": "owner"}))
    return [RepoInfo(str(i["full_name"]), str(i["clone_url"]), bool(i.get("fork")), bool(i.get("archived")))
            for i in items if isinstance(i, dict) and i.get("full_name") and i.get("clone_url")]


def gitlab_repos(api: Api, group: str) -> list[RepoInfo]:
    """A group's projects, with its subgroups' (or a user's, when no group has that path)."""
    params = {"per_page": "100", "include_subgroups": "true", "order_by": "path", "sort": "asc"}
    try:
        items = list(api.pages(f"/groups/{quote(group, safe='')}/projects", params))
    except NotFound:
        items = list(api.pages(f"/users/{quote(group, safe='')}/projects", {"per_page": "100"}))
    return [RepoInfo(str(i["path_with_namespace"]), str(i["http_url_to_repo"]),
                     bool(i.get("forked_from_project")), bool(i.get("archived")))
            for i in items if isinstance(i, dict) and i.get("path_with_namespace") and i.get("http_url_to_repo")]


def select(repos: Iterable[RepoInfo], forks: bool = False, archived: bool = False,
           include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[RepoInfo]:
    """Forks and archived repositories only when asked; globs match OWNER/REPO or REPO."""
    include, exclude = list(include), list(exclude)

    def matches(r: RepoInfo, globs: list[str]) -> bool:
        short = r.name.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatchcase(r.name, g) or fnmatch.fnmatchcase(short, g) for g in globs)

    out = [r for r in repos
           if (forks or not r.fork) and (archived or not r.archived)
           and (not include or matches(r, include)) and not matches(r, exclude)]
    return sorted({r.name: r for r in out}.values(), key=lambda r: r.name)


# -- GitHub Actions -----------------------------------------------------------------------------------
def workflow_runs(api: Api, repo: str, count: int) -> list[dict[str, Any]]:
    """The ``count`` most recent workflow runs of OWNER/REPO, newest first."""
    runs: list[dict[str, Any]] = []
    for run in api.pages(f"/repos/{quote_path(repo)}/actions/runs", {"per_page": str(min(max(count, 1), 100))}):
        if isinstance(run, dict) and isinstance(run.get("id"), int):
            runs.append(run)
        if len(runs) >= count:
            break
    return runs


def run_logs_zip(api: Api, repo: str, run_id: int, max_bytes: int = MAX_ZIP_BYTES) -> bytes:
    """A run's logs archive. GitHub answers with a redirect to short-lived storage elsewhere,
    which is fetched with no token (the link itself is the permission)."""
    path = f"/repos/{quote_path(repo)}/actions/runs/{int(run_id)}/logs"
    r = api.get(path)
    if r.status_code in (301, 302, 303, 307, 308):
        location = r.headers.get("location", "")
        parts = urlsplit(location)
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname or "")):
            raise ForgeError(f"run {run_id}: logs redirect to a non-https address refused")
        return _download(api, location, max_bytes, run_id)
    if r.status_code in (404, 410):
        raise NotFound(f"run {run_id}: logs not available (HTTP {r.status_code}: expired or deleted)")
    _check(r, path)  # GitHub Enterprise Server may answer with the archive itself
    if len(r.content) > max_bytes:
        raise _too_big(run_id, max_bytes)
    return r.content


def _too_big(run_id: int, max_bytes: int) -> ForgeError:
    return ForgeError(f"run {run_id}: logs archive over {max_bytes >> 20} MiB")


def _download(api: Api, url: str, max_bytes: int, run_id: int) -> bytes:
    import requests

    session = requests.Session()
    session.trust_env = False  # a fresh session: no token, no .netrc, no cookies of the API's
    try:
        with session.get(url, headers={"User-Agent": USER_AGENT}, timeout=api.timeout,
                         allow_redirects=False, stream=True, proxies=api.proxies(url)) as r:
            if r.status_code != 200:
                raise ForgeError(f"run {run_id}: logs download: HTTP {r.status_code}")
            chunks, size = [], 0
            for chunk in r.iter_content(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_big(run_id, max_bytes)
                chunks.append(chunk)
            return b"".join(chunks)
    except (requests.ConnectionError, requests.Timeout):
        raise ForgeError(f"run {run_id}: logs download failed") from None
    finally:
        session.close()
