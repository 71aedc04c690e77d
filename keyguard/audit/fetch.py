"""Read-only JSON GETs through the credential client, with pagination.

Errors say which host answered which HTTP status and, at most, the provider's short error code
(``PERMISSION_DENIED``, ``permission_error``). A provider's error *message* is never repeated:
some echo part of the key that was sent.
"""
from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from ..http import RequestFailed, retry_after_seconds

if TYPE_CHECKING:
    import requests

    from ..http import CredentialClient

MAX_PAGES = 1000  # a safety net against a cursor that never ends
# The client retries a 429 once when Retry-After is at most 10 s; a long read-out (usage over 90
# days, page after page) may meet the limit again, so it waits a few more times, up to a minute each.
RATE_LIMIT_RETRIES = 3
MAX_RATE_LIMIT_WAIT = 60.0
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")


class ApiError(Exception):
    """A request got no usable answer: an HTTP error, a transport failure or a body not JSON."""

    def __init__(self, host: str, status: int | None, code: str | None = None, detail: str = "",
                 retry_after: float | None = None) -> None:
        self.host, self.status, self.code, self.retry_after = host, status, code, retry_after
        what = f"HTTP {status}" if status is not None else (detail or "no answer")
        if code:
            what += f" {code}"
        if status is not None and detail:
            what += f", {detail}"
        super().__init__(f"{host}: {what}")


def error_code(response: requests.Response) -> str | None:
    """The provider's machine-readable error code, if the body has one (Google, OpenAI, Anthropic)."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    for field in ("status", "code", "type"):  # Google status, OpenAI code/type, Anthropic type
        value = error.get(field)
        if isinstance(value, str) and _CODE.fullmatch(value):
            return value
    return None


def get_json(client: CredentialClient, host: str, path: str, *, headers: Mapping[str, str],
             params: Mapping[str, Any] | None = None,
             sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """One GET; a 429 whose Retry-After (seconds) is at most a minute is waited out, a few times."""
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        try:
            return _get_json_once(client, host, path, headers, params)
        except ApiError as exc:
            wait = exc.retry_after
            if exc.status != 429 or wait is None or wait > MAX_RATE_LIMIT_WAIT or attempt == RATE_LIMIT_RETRIES:
                raise
            sleep(wait)
    raise AssertionError("unreachable")


def _get_json_once(client: CredentialClient, host: str, path: str, headers: Mapping[str, str],
                   params: Mapping[str, Any] | None) -> dict[str, Any]:
    try:
        response = client.get(host, path, headers=headers, params=params)
    except RequestFailed as exc:  # EndpointError (a refused host) is a setup error: it goes up as it is
        raise ApiError(host, None, detail=str(exc).split(": ", 1)[-1]) from None
    if response.status_code != 200:
        wait = retry_after_seconds(response.headers.get("retry-after")) if response.status_code == 429 else None
        raise ApiError(host, response.status_code, error_code(response), retry_after=wait)
    try:
        body = response.json()
    except ValueError:
        raise ApiError(host, 200, detail="answer is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(host, 200, detail="answer is not a JSON object")
    return body


Cursor = Callable[[dict[str, Any]], "dict[str, str] | None"]


def google_cursor(body: dict[str, Any]) -> dict[str, str] | None:
    token = body.get("nextPageToken")
    return {"pageToken": token} if isinstance(token, str) and token else None


def after_cursor(param: str) -> Cursor:
    """OpenAI (``after``) and Anthropic (``after_id``): ``has_more`` and ``last_id``."""
    def cursor(body: dict[str, Any]) -> dict[str, str] | None:
        last = body.get("last_id")
        if body.get("has_more") is True and isinstance(last, str) and last:
            return {param: last}
        return None
    return cursor


def next_page_cursor(body: dict[str, Any]) -> dict[str, str] | None:
    """OpenAI and Anthropic usage and cost reports: ``has_more`` and ``next_page``, sent back as ``page``."""
    token = body.get("next_page")
    if body.get("has_more") is True and isinstance(token, str) and token:
        return {"page": token}
    return None


def offset_cursor(items: str, page_size: int) -> Cursor:
    """OpenRouter: ``offset`` counts the items read; a short page is the last one."""
    read = 0

    def cursor(body: dict[str, Any]) -> dict[str, str] | None:
        nonlocal read
        got = body.get(items)
        count = len(got) if isinstance(got, list) else 0
        read += count
        return {"offset": str(read)} if count >= page_size else None
    return cursor


def pages(client: CredentialClient, host: str, path: str, *, headers: Mapping[str, str],
          items: str, cursor: Cursor, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Every item of a paginated list, following ``cursor`` until it stops or repeats."""
    query = dict(params or {})
    seen: set[tuple[tuple[str, str], ...]] = set()
    for _ in range(MAX_PAGES):
        body = get_json(client, host, path, headers=headers, params=query)
        for item in body.get(items) or ():
            if isinstance(item, dict):
                yield item
        following = cursor(body)
        if following is None:
            return
        marker = tuple(sorted(following.items()))
        if marker in seen:
            return
        seen.add(marker)
        query.update(following)
