"""Shared pieces of the provider verifiers: one request, reading answers, scrubbing evidence."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable

from ..http import EndpointError, RequestFailed, retry_after_seconds
from .model import Verification

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
    except (ValueError, RecursionError):
        return None


def is_html(response: requests.Response) -> bool:
    """A web page (a proxy's block page, a captive portal, a CDN error), not an API answer."""
    if "html" in response.headers.get("content-type", "").lower():
        return True
    return response.content[:200].lstrip()[:1] == b"<" and b"<?xml" not in response.content[:10]


def optional_get(client: CredentialClient, host: str, path: str,
                 headers: dict[str, str]) -> requests.Response | str:
    """A follow-up read: the response, or why there is none (the verdict never hangs on it).

    A host left out of KEYGUARD_ENDPOINTS is skipped here instead of stopping the run: the first
    call already proved the configuration, and a follow-up read only adds detail.
    """
    try:
        return client.request("GET", host, path, headers=headers)
    except RequestFailed as exc:
        return f"no answer ({exc})"
    except EndpointError:
        return f"{host} is not among the allowed endpoints"


def count(body: Any, field: str = "data") -> str | int | None:
    """How many items a list page holds: n, or "n+" when the provider says there are more."""
    if not isinstance(body, dict) or not isinstance(body.get(field), list):
        return None
    n = len(body[field])
    return f"{n}+" if body.get("has_more") is True else n


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
              live: Iterable[int] = (200,), invalid: Iterable[int] = (401,),
              unknown_fields: Iterable[str] = (), html_ok: bool = False) -> Verification:
    """The common reading: ``live`` codes live, ``invalid`` codes invalid, 429 and the rest honest.

    Only the answers a provider documents decide; anything else (an undocumented status, a web
    page from a proxy in between) is ``unknown``, never ``invalid``: a live key called dead is
    the costliest mistake a scanner can make.
    """
    status = response.status_code
    v = Verification("unknown", check, evidence=evidence(response, secret),
                     unknown=list(unknown_fields))
    limits = rate_limit_headers(response)
    if limits:
        v.quota["rate_limit"] = limits
    if status < 500 and status != 429 and not html_ok and is_html(response):
        v.evidence["body"] = "web page"
        v.reasons.append(f"{check} answered {status} with a web page, not the provider's API "
                         "answer (a proxy or portal in between?): whether the key is live is unknown")
    elif status in tuple(live):
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
               invalid: Iterable[int] = (401,), unknown_fields: Iterable[str] = (),
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


def expect_shape(v: Verification, body: Any, kind: type, what: str) -> bool:
    """True if a live answer's body has the documented shape; else the verdict turns unknown."""
    if v.status != "live" or isinstance(body, kind):
        return v.status == "live"
    v.status = "unknown"
    v.severity = None
    shape = "no JSON" if body is None else f"a JSON {type(body).__name__}"
    v.reasons = [f"{v.check} answered {v.evidence.get('http_status')} with {shape} where {what} "
                 "was expected: whether the key is live is unknown"]
    return False
