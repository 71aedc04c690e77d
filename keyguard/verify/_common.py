"""Shared pieces of the provider verifiers: one request, reading answers, scrubbing evidence."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable

from ..http import RequestFailed, retry_after_seconds
from . import Verification

if TYPE_CHECKING:
    import requests

    from ..http import CredentialClient

# a run of 12+ key characters holding a digit or a mask star: a key, a key fragment or a hint
_TOKENISH = re.compile(r"(?=[A-Za-z0-9_\-*.+/=]*[0-9*])[A-Za-z0-9_\-*.+/=]{12,}")
RATE_LIMIT_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "ratelimit-")


def scrub(text: str, secret: str, limit: int = 200) -> str:
    """A provider message fit for a report: no key, no key fragment, no long token, short."""
    text = text.replace(secret, "[key]")
    text = _TOKENISH.sub("[redacted]", text)
    return text[:limit]


def send(client: CredentialClient, method: str, host: str, path: str,
         **kwargs: Any) -> requests.Response | Verification:
    """The response, or an ``error`` verification if none came (time-out, refused connection).

    ``EndpointError`` (a refused host) is not caught: it is a fatal configuration error.
    """
    try:
        return client.request(method, host, path, **kwargs)
    except RequestFailed as exc:
        return Verification("error", f"{method} {host}{path}", evidence={"error": str(exc)},
                            reasons=[f"no answer: {exc}"])


def body_json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def rate_limit_headers(response: requests.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()
            if k.lower().startswith(RATE_LIMIT_PREFIXES) or k.lower() == "retry-after"}


def error_fields(body: Any, secret: str) -> dict[str, str]:
    """Provider error code/type/reason from the common body shapes, scrubbed."""
    out: dict[str, str] = {}
    if not isinstance(body, dict):
        return out
    err = body.get("error", body)
    if isinstance(err, str):
        out["reason"] = scrub(err, secret)
        err = body
    if isinstance(err, dict):
        for key in ("code", "type", "status"):
            value = err.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                out[key] = scrub(str(value), secret, 80)
        message = err.get("message") or err.get("detail")
        if isinstance(message, dict):
            for key in ("status", "code"):
                if isinstance(message.get(key), str):
                    out.setdefault("code", scrub(message[key], secret, 80))
            message = message.get("message")
        if isinstance(message, str):
            out["reason"] = scrub(message, secret)
    return out


def evidence(response: requests.Response, secret: str, body: Any = None) -> dict[str, Any]:
    ev: dict[str, Any] = {"http_status": response.status_code}
    if response.status_code >= 300:
        ev.update(error_fields(body if body is not None else body_json(response), secret))
    return ev


def interpret(response: requests.Response, secret: str, check: str, *,
              live: Iterable[int] = (200,), invalid: Iterable[int] = (401, 403),
              unknown_fields: Iterable[str] = ()) -> Verification:
    """The common reading: ``live`` codes live, ``invalid`` codes invalid, 429 and the rest honest."""
    status = response.status_code
    v = Verification("unknown", check, evidence=evidence(response, secret),
                     unknown=list(unknown_fields))
    limits = rate_limit_headers(response)
    if limits:
        v.quota["rate_limit"] = limits
    if status in tuple(live):
        v.status = "live"
        v.reasons.append(f"{check} answered {status}: the key is accepted")
    elif status in tuple(invalid):
        v.status = "invalid"
        v.reasons.append(f"{check} answered {status}: the key is rejected")
    elif status == 429:
        wait = retry_after_seconds(response.headers.get("retry-after"))
        v.reasons.append("rate limited (429)" + (f"; retry after {wait:g} s" if wait is not None else "")
                         + ": whether the key is live is unknown")
    elif status >= 500:
        v.status = "error"
        v.reasons.append(f"{check} answered {status} twice: provider error")
    else:
        v.reasons.append(f"{check} answered {status}, which the provider's documentation does not explain")
    return v


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def simple_get(client: CredentialClient, host: str, path: str, secret: str, *,
               headers: dict[str, str] | None = None, live: Iterable[int] = (200,),
               invalid: Iterable[int] = (401, 403), unknown_fields: Iterable[str] = (),
               ) -> tuple[Verification, Any]:
    """GET a metadata endpoint with the key in a header; (verification, parsed JSON body)."""
    check = f"GET {host}{path.split('?')[0]}"
    answer = send(client, "GET", host, path, headers=headers or bearer(secret))
    if isinstance(answer, Verification):
        answer.check = check
        answer.unknown = list(unknown_fields)
        return answer, None
    return interpret(answer, secret, check, live=live, invalid=invalid,
                     unknown_fields=unknown_fields), body_json(answer)
