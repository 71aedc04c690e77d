"""Google API keys: every documented answer of generativelanguage models.list, via a stand-in."""
from __future__ import annotations

import pytest

from .standin import StandIn, reply, sequence, slow
from .verify_support import check, client_for, fake, no_key_in_urls

HOST = "generativelanguage.googleapis.com"
ROUTE = ("GET", "/v1beta/models")


def google_error(status: int, code: str, message: str, reason: str | None = None,
                 consumer: str = "projects/123456789012") -> tuple:
    error = {"code": status, "message": message, "status": code}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                             "domain": "googleapis.com",
                             "metadata": {"service": HOST, "consumer": consumer}}]
    return reply(status, {"error": error})


def run(answer) -> tuple:
    key = fake("google")
    with StandIn({ROUTE: answer}) as server:
        v = check("google", key, client_for(server, HOST), "google-api-key")
    return v, server, key


def test_live_unrestricted_key_reaching_gemini_is_critical():
    v, server, key = run(reply(200, {"models": [{"name": "models/gemini-2.5-flash"}]}))
    assert v.status == "live" and v.severity == "critical"
    assert v.restrictions["referrer"] == "none" and v.restrictions["gemini_reachable"] is True
    assert v.restrictions["api"] == "unknown"  # one service reached cannot rule out an API restriction
    [sent] = server.requests
    assert (sent.method, sent.path) == ("GET", "/v1beta/models")  # list only: no generateContent
    assert sent.headers["x-goog-api-key"] == key and no_key_in_urls(server, key)
    assert "referer" not in sent.headers


def test_invalid_key():
    v, _, key = run(google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                                 "API_KEY_INVALID"))
    assert v.status == "invalid" and v.evidence["reason_code"] == "API_KEY_INVALID"
    assert v.evidence["http_status"] == 400 and key not in str(v.as_dict())


def test_referrer_blocked_key_is_live_but_restricted():
    v, _, _ = run(google_error(403, "PERMISSION_DENIED", "Requests from referer <empty> are blocked.",
                               "API_KEY_HTTP_REFERRER_BLOCKED"))
    assert v.status == "live" and v.severity == "medium"
    assert v.restrictions["referrer"] == "restricted" and v.restrictions["ip"] == "none"
    assert v.restrictions["gemini_reachable"] is False
    assert v.restrictions["project_number"] == "123456789012"


@pytest.mark.parametrize("reason,kind", [("API_KEY_IP_ADDRESS_BLOCKED", "ip"),
                                         ("API_KEY_ANDROID_APP_BLOCKED", "android"),
                                         ("API_KEY_IOS_APP_BLOCKED", "ios")])
def test_other_application_restrictions(reason, kind):
    v, _, _ = run(google_error(403, "PERMISSION_DENIED", "blocked", reason))
    assert v.status == "live" and v.restrictions[kind] == "restricted"
    assert v.restrictions["referrer"] == "none"


def test_api_blocked_key():
    v, _, _ = run(google_error(403, "PERMISSION_DENIED", "Requests to this API method are blocked.",
                               "API_KEY_SERVICE_BLOCKED"))
    assert v.status == "live" and v.restrictions["api"] == "restricted"
    assert v.restrictions["referrer"] == "unknown" and v.severity == "medium"


def test_service_disabled_reveals_project_number():
    v, _, _ = run(google_error(
        403, "PERMISSION_DENIED", "Generative Language API has not been used in project 987654321098 "
        "before or it is disabled.", "SERVICE_DISABLED", consumer="projects/987654321098"))
    assert v.status == "live" and v.restrictions["gemini_reachable"] is False
    assert v.restrictions["project_number"] == "987654321098" and v.severity is None


def test_leaked_key_flag():
    v, _, _ = run(reply(403, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message":
                                        "Your API key was reported as leaked. Please use another API key."}}))
    assert v.status == "live" and v.restrictions["leaked_flag"] is True
    assert v.restrictions["gemini_reachable"] is False


def test_quota_exceeded_reason_is_live():
    v, _, _ = run(google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", "RATE_LIMIT_EXCEEDED"))
    assert v.status == "live" and v.quota["exhausted"] == "RATE_LIMIT_EXCEEDED"


def test_rate_limited_then_answered_after_retry_after():
    v, server, _ = run(sequence(reply(429, {"error": {"code": 429}}, {"Retry-After": "1"}),
                                reply(200, {"models": []})))
    assert len(server.requests) == 2 and v.status == "live"


def test_rate_limited_twice_is_unknown():
    v, server, _ = run(reply(429, {"error": {"code": 429}}, {"Retry-After": "0"}))
    assert len(server.requests) == 2 and v.status == "unknown"
    assert "rate limited" in v.reasons[0]


def test_server_error_twice_is_error():
    v, server, _ = run(reply(503, {"error": {"code": 503}}))
    assert len(server.requests) == 2 and v.status == "error"


def test_slow_provider_times_out_as_error():
    v, _, key = run(slow(1.5, reply(200, {"models": []})))
    assert v.status == "error" and v.evidence["error"].endswith("timed out")
    assert key not in str(v.as_dict())
