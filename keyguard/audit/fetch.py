"""Read-only JSON GETs through the credential client, with pagination.

Errors say which host answered which HTTP status and, at most, the provider's short error code
(``PERMISSION_DENIED``, ``permission_error``). A provider's error *message* is never repeated:
some echo part of the key that was sent.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from ..http import RequestFailed

if TYPE_CHECKING:
    import requests

    from ..http import CredentialClient

MAX_PAGES = 1000  # a safety net against a cursor that never ends
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")


class ApiError(Exception):
    """A request got no usable answer: an HTTP error, a transport failure or a body not JSON."""

    def __init__(self, host: str, status: int | None, code: str | None = None, detail: str = "") -> None:
        self.host, self.status, self.code = host, status, code
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
             params: Mapping[str, str] | None = None) -> dict[str, Any]:
    try:
        response = client.get(host, path, headers=headers, params=params)
    except RequestFailed as exc:  # EndpointError (a refused host) is a setup error: it goes up as it is
        raise ApiError(host, None, detail=str(exc).split(": ", 1)[-1]) from None
    if response.status_code != 200:
        raise ApiError(host, response.status_code, error_code(response))
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


def pages(client: CredentialClient, host: str, path: str, *, headers: Mapping[str, str],
          items: str, cursor: Cursor, params: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
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
