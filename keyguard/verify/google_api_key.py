"""Google API keys, standard (AIza...) and auth (AQ.): GET generativelanguage.googleapis.com/v1beta/models.

Since Google's 2026 key migration the Gemini API refuses unrestricted standard keys (from
2026-06-19) and then every standard key (September 2026): a standard key Gemini turns away may
still bill Maps and other APIs, so that answer never makes it dead, and the second probe below
asks an unrelated API. An auth key is bound to a service account; models.list is the one free
call the facts file names for it (it lists models even where generation is refused), a revoked
auth key's answer is undocumented, and no second API is asked.

The key goes in the ``x-goog-api-key`` header, never in the URL. The request carries no Referer
and no Android/iOS app headers, so an application restriction shows up as an
``API_KEY_*_BLOCKED`` reason; an API restriction that leaves out Gemini shows up as
``API_KEY_SERVICE_BLOCKED``. Reading the restrictions directly needs the owner's IAM rights, so
they are inferred from these reasons (see the facts file).

One service reached cannot rule out an API restriction that happens to list it, so a second,
free GET goes to an unrelated API that takes the key in the same header: Identity Toolkit's
project config (read-only; it is what Firebase Auth clients fetch). ``X-Goog-Api-Key`` is one
of the system parameters Google lists for all its REST APIs
(https://cloud.google.com/apis/docs/system-parameters); the facts file has no capture of this
API's header form, so only its documented reasons decide anything here. Both answering means ``api``
is ``none`` (or an allow-list broad enough to hold both); ``API_KEY_SERVICE_BLOCKED`` on either
means ``restricted``. The second answer also settles liveness when Gemini's does not (a key
Gemini refuses by credential-type policy may still work elsewhere).
"""
from __future__ import annotations

import re
from typing import Any, TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import body_json, evidence, is_html, optional_get, send

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "generativelanguage.googleapis.com"
PATH = "/v1beta/models"
SECOND_HOST = "www.googleapis.com"
SECOND_PATH = "/identitytoolkit/v3/relyingparty/getProjectConfig"
OTHER_HOSTS = (SECOND_HOST,)
CHECK = Check(
    provider="Google API key (AIza… standard, AQ. auth)",
    requests=(f"GET {HOST}{PATH}", f"GET {SECOND_HOST}{SECOND_PATH}"),
    status="200 with `models` live (Gemini reachable); 400 `API_KEY_INVALID`, `API_KEY_EXPIRED` "
           "invalid; 403 `API_KEY_*_BLOCKED`, `SERVICE_DISABLED`, \"reported as leaked\" live; "
           "`BILLING_DISABLED` live (no billing); `RATE_LIMIT_EXCEEDED`/`RESOURCE_QUOTA_EXCEEDED` "
           "live; `CONSUMER_SUSPENDED` invalid; 401 `ACCESS_TOKEN_TYPE_UNSUPPORTED` unknown "
           "(credential-type policy: Gemini refuses standard keys since September 2026). Unless the "
           "key is dead or app-restricted, a second GET (Identity Toolkit project config): 200 "
           "there too makes `api` `none`, and a live key. Auth keys (AQ.): models.list only; "
           "400 `API_KEY_INVALID` unknown (a revoked auth key's answer is undocumented)",
    restrictions=("referrer", "api", "ip", "android", "ios", "gemini_reachable", "leaked_flag",
                  "project_number", "identity_toolkit_reachable"),
    quota=("exhausted", "billing"),
    scope=("project_id", "key_type"),
    unknown=("quota and spend (Google documents no quota headers)",
             "the key's restrictions as configured (reading them needs the owner's "
             "apikeys.keys.lookup permission; they are inferred from error reasons)",
             "which APIs beyond the two probed the key can reach (`api` `none` means both "
             "unrelated APIs answered; a broad allow-list holding both looks the same)",
             "auth keys: whether generation is permitted (models are listed even where it is "
             "refused) and which service account the key acts as"),
    severity="critical: Gemini models listed with no referrer/IP/app restriction; medium: a "
             "referrer, IP, Android, iOS or API restriction blocks the call, or the key was "
             "reported as leaked",
)

# ErrorInfo reason -> (restriction it reveals, value)
APP_BLOCKS = {
    "API_KEY_HTTP_REFERRER_BLOCKED": "referrer",
    "API_KEY_IP_ADDRESS_BLOCKED": "ip",
    "API_KEY_ANDROID_APP_BLOCKED": "android",
    "API_KEY_IOS_APP_BLOCKED": "ios",
}
_PROJECT = re.compile(r"projects/(\d+)")
_PROJECT_TEXT = re.compile(r"\bproject (\d{6,})\b")


def _details(body: Any) -> tuple[str | None, dict[str, Any], str]:
    """(ErrorInfo reason, its metadata, error message) from a Google error body."""
    err = body.get("error", {}) if isinstance(body, dict) else {}
    message = err.get("message", "") if isinstance(err, dict) else ""
    details = err.get("details") if isinstance(err, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and detail.get("reason"):
            metadata = detail.get("metadata")
            return (str(detail["reason"]), metadata if isinstance(metadata, dict) else {},
                    str(message))
    return None, {}, str(message)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    check = f"GET {HOST}{PATH}"
    restrictions: dict[str, Any] = {"referrer": "unknown", "api": "unknown"}
    auth = secret.startswith("AQ.")
    answer = send(client, "GET", HOST, PATH, headers={"x-goog-api-key": secret})
    if isinstance(answer, Verification):
        answer.check, answer.restrictions, answer.unknown = check, restrictions, list(CHECK.unknown)
        answer.scope["key_type"] = "auth" if auth else "standard"
        return answer
    v = _gemini(answer, secret, check, restrictions)
    v.scope["key_type"] = "auth" if auth else "standard"
    if auth:
        if v.status == "invalid":  # what a revoked auth key answers is undocumented
            v.status = "unknown"
            v.reasons.append("for an auth key (AQ.) this answer is not documented as dead: unknown")
        if v.status == "live" and restrictions.get("gemini_reachable"):
            v.reasons.append("an auth key lists models even where generation is refused: whether it "
                             "may generate is unknown; it acts as its bound service account")
    elif v.evidence.get("reason_code") == "ACCESS_TOKEN_TYPE_UNSUPPORTED":
        v.reasons.append("Gemini refuses unrestricted standard keys since 2026-06-19 and every standard "
                         "key since September 2026; unrestricted, the key may still bill Maps and "
                         "other APIs enabled in its project")
    if not auth and v.status not in ("invalid", "error") and v.evidence.get("reason_code") not in APP_BLOCKS:
        _second_probe(v, secret, client)
    return v


def _gemini(answer: Any, secret: str, check: str, restrictions: dict[str, Any]) -> Verification:
    """The verdict from Gemini's models.list answer alone."""
    body = body_json(answer)
    reason, metadata, message = _details(body)
    v = Verification("unknown", check, evidence=evidence(answer, secret, body),
                     restrictions=restrictions, unknown=list(CHECK.unknown))
    if reason:
        v.evidence["reason_code"] = reason
    project = _PROJECT.search(str(metadata.get("consumer", ""))) or _PROJECT_TEXT.search(message)
    if project:
        restrictions["project_number"] = project.group(1)
    status = answer.status_code

    if status == 200 and isinstance(body, dict) and "models" in body:
        v.status = "live"
        restrictions.update(referrer="none", ip="none", android="none", ios="none",
                            gemini_reachable=True)
        v.unknown.append("ip: 'none' unless this machine's address is on the key's allow-list")
        v.severity = "critical"
        v.reasons = ["a request with no referrer and no app identity listed Gemini models: "
                     "no application restriction, and the key can spend on the Gemini API"]
        return v
    restrictions["gemini_reachable"] = False
    _read_gemini_error(v, status, reason, message, is_html(answer))
    return v


def _read_gemini_error(v: Verification, status: int, reason: str | None, message: str,
                       html: bool) -> None:
    restrictions = v.restrictions
    if html:
        v.reasons = [f"{status}: a web page, not Google's API answer (a proxy in between?)"]
        return
    if status == 400 and (reason == "API_KEY_INVALID" or "API key not valid" in message):
        v.status = "invalid"
        v.reasons = ["API_KEY_INVALID: Google does not know this key (deleted or never valid)"]
    elif reason == "API_KEY_EXPIRED" or (status == 400 and "API key expired" in message):
        v.status = "invalid"
        v.reasons = ["API_KEY_EXPIRED: the key has expired"]
    elif reason in APP_BLOCKS:
        v.status = "live"
        for kind in APP_BLOCKS.values():  # a key has at most one application restriction
            restrictions[kind] = "restricted" if kind == APP_BLOCKS[reason] else "none"
        v.severity = "medium"
        v.reasons = [f"{reason}: a valid key with an application restriction ({APP_BLOCKS[reason]})"]
        if reason == "API_KEY_HTTP_REFERRER_BLOCKED":
            v.reasons.append("a referrer restriction is only a header check; any non-browser "
                             "client can send an allowed Referer (keyguard did not try)")
    elif reason == "API_KEY_SERVICE_BLOCKED":
        v.status = "live"
        restrictions["api"] = "restricted"
        v.severity = "medium"
        v.reasons = ["API_KEY_SERVICE_BLOCKED: a valid key whose API restriction leaves out Gemini"]
    elif reason == "SERVICE_DISABLED":
        v.status = "live"
        v.reasons = ["SERVICE_DISABLED: a valid key; the Generative Language API is not enabled "
                     "in its project (anyone with project rights can enable it)"]
    elif reason in ("RATE_LIMIT_EXCEEDED", "RESOURCE_QUOTA_EXCEEDED"):
        v.status = "live"
        v.quota["exhausted"] = reason
        v.reasons = [f"{reason}: a valid key that reached its quota"]
    elif reason == "BILLING_DISABLED":
        v.status = "live"
        v.quota["billing"] = "disabled"
        v.reasons = ["BILLING_DISABLED: a valid key whose project has billing turned off (it cannot "
                     "spend on paid APIs until someone with project rights turns billing on)"]
    elif reason == "CONSUMER_SUSPENDED":
        v.status = "invalid"
        v.reasons = ["CONSUMER_SUSPENDED: the key's project is suspended"]
    elif reason == "ACCESS_TOKEN_TYPE_UNSUPPORTED":
        v.reasons = ["ACCESS_TOKEN_TYPE_UNSUPPORTED: Gemini refuses this kind of key by policy; "
                     "that says nothing about the key on other Google APIs"]
    elif status == 403 and "reported as leaked" in message:
        v.status = "live"
        restrictions["leaked_flag"] = True
        v.severity = "medium"
        v.reasons = ["Google reported this key as leaked and blocks it on the Gemini API; "
                     "it may still work on other Google APIs"]
    elif status == 429:
        v.reasons = ["rate limited (429) without a reason: whether the key is live is unknown"]
    elif status >= 500:
        v.status = "error"
        v.reasons = [f"{status}: provider error"]
    else:
        v.reasons = [f"{status} {reason or ''}: not an answer the facts file documents".strip()]


def _second_probe(v: Verification, secret: str, client: CredentialClient) -> None:
    """Identity Toolkit's project config with the same header: does an unrelated API answer?"""
    answer = optional_get(client, SECOND_HOST, SECOND_PATH, {"x-goog-api-key": secret})
    if isinstance(answer, str):
        v.unknown.append(f"a second API (Identity Toolkit): {answer}")
        return
    body = body_json(answer)
    reason, _, _ = _details(body)
    r = v.restrictions
    if answer.status_code == 200 and isinstance(body, dict) and not is_html(answer):
        r["identity_toolkit_reachable"] = True
        if isinstance(body.get("projectId"), str):
            v.scope["project_id"] = body["projectId"][:80]
        if r.get("gemini_reachable") is True:
            r["api"] = "none"
            v.reasons.append("Identity Toolkit answered too: two unrelated APIs reached, so no API "
                             "restriction (or one broad enough to hold both)")
        elif v.status != "live":
            v.status = "live"
            v.reasons.append("Identity Toolkit accepted the key: it is live on other Google APIs")
        return
    r["identity_toolkit_reachable"] = False
    if reason == "API_KEY_SERVICE_BLOCKED":
        r["api"] = "restricted"
        v.status = "live"
        v.reasons.append("API_KEY_SERVICE_BLOCKED on Identity Toolkit: the key carries an API "
                         "restriction")
        if v.severity is None and r.get("gemini_reachable") is not True:
            v.severity = "medium"
    elif reason == "SERVICE_DISABLED" and v.status != "live":
        v.status = "live"
        v.reasons.append("SERVICE_DISABLED on Identity Toolkit: Google knows the key (the API is "
                         "not enabled in its project)")
    elif reason == "API_KEY_INVALID" and v.status == "unknown":
        v.status = "invalid"
        v.reasons.append("API_KEY_INVALID on Identity Toolkit: Google does not know this key")
