"""Google API keys: every documented answer of generativelanguage models.list, via a stand-in."""
from __future__ import annotations

import pytest

from ..standin import StandIn, reply, sequence, slow
from ..verify_support import check, client_for, fake, no_key_in_urls

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


TOOLKIT = "www.googleapis.com"
TOOLKIT_ROUTE = ("GET", "/identitytoolkit/v3/relyingparty/getProjectConfig")


def run_both(gemini, toolkit) -> tuple:
    key = fake("google")
    with StandIn({ROUTE: gemini, TOOLKIT_ROUTE: toolkit}) as server:
        v = check("google", key, client_for(server, HOST, TOOLKIT), "google-api-key")
    return v, server, key


def test_two_unrelated_apis_answering_make_the_api_restriction_none():
    v, server, key = run_both(reply(200, {"models": []}), reply(200, {"projectId": "acme-prod"}))
    assert v.status == "live" and v.restrictions["api"] == "none" and v.severity == "critical"
    assert v.scope["project_id"] == "acme-prod"
    second = server.requests[1]
    assert second.method == "GET" and second.headers["x-goog-api-key"] == key and no_key_in_urls(server, key)


def test_one_api_answering_is_not_enough_for_none():
    v, _, _ = run(reply(200, {"models": []}))  # the second API is not reachable from this test
    assert v.restrictions["api"] == "unknown"
    assert any(u.startswith("a second API (Identity Toolkit)") for u in v.unknown)


def test_second_api_blocked_means_an_api_restriction():
    v, _, _ = run_both(reply(200, {"models": []}), google_error(
        403, "PERMISSION_DENIED", "Requests to this API are blocked.", "API_KEY_SERVICE_BLOCKED"))
    assert v.status == "live" and v.restrictions["api"] == "restricted"
    assert v.restrictions["identity_toolkit_reachable"] is False


def test_expired_key_is_invalid():
    v, _, _ = run(google_error(400, "INVALID_ARGUMENT", "API key expired. Please renew the API key.",
                               "API_KEY_EXPIRED"))
    assert v.status == "invalid" and v.evidence["reason_code"] == "API_KEY_EXPIRED"


def test_billing_disabled_is_live_without_billing():
    v, _, _ = run(google_error(403, "PERMISSION_DENIED", "This API method requires billing to be enabled.",
                               "BILLING_DISABLED"))
    assert v.status == "live" and v.quota["billing"] == "disabled"


def test_consumer_suspended_is_invalid_and_nothing_more_is_asked():
    v, server, _ = run_both(google_error(403, "PERMISSION_DENIED", "Consumer has been suspended.",
                                         "CONSUMER_SUSPENDED"), reply(200, {"projectId": "p"}))
    assert v.status == "invalid" and len(server.requests) == 1


def test_gemini_policy_refusal_is_not_dead_and_the_second_api_settles_it():
    refusal = google_error(401, "UNAUTHENTICATED", "API keys are not supported by this API.",
                           "ACCESS_TOKEN_TYPE_UNSUPPORTED")
    v, _, _ = run(refusal)
    assert v.status == "unknown"
    v, _, _ = run_both(refusal, reply(200, {"projectId": "acme-prod"}))
    assert v.status == "live" and v.restrictions["identity_toolkit_reachable"] is True


def test_app_restricted_key_is_not_probed_twice():
    v, server, _ = run_both(google_error(403, "PERMISSION_DENIED", "Requests from referer <empty> are blocked.",
                                         "API_KEY_HTTP_REFERRER_BLOCKED"), reply(200, {"projectId": "p"}))
    assert v.status == "live" and len(server.requests) == 1
