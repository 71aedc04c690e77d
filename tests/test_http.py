"""The credential-carrying HTTP client: routing, fail-closed override, redirects, retries."""
from __future__ import annotations

import pytest

from keyguard.http import CredentialClient, EndpointError, RequestFailed, parse_endpoints

from .standin import StandIn, reply, sequence, slow


def test_endpoints_accept_only_loopback():
    assert parse_endpoints("api.openai.com=http://127.0.0.1:8081/, x.ai=http://[::1]:9") == {
        "api.openai.com": "http://127.0.0.1:8081", "x.ai": "http://[::1]:9"}
    for bad in ("api.openai.com=http://10.0.0.1:80", "api.openai.com=https://evil.example",
                "api.openai.com", "api.openai.com=ftp://127.0.0.1", "not a host=http://127.0.0.1"):
        with pytest.raises(EndpointError):
            parse_endpoints(bad)


def test_real_hosts_are_https_and_paths_cannot_escape():
    client = CredentialClient(None)
    assert client.url_for("api.openai.com", "/v1/models") == "https://api.openai.com/v1/models"
    for path in ("//evil.example/x", "http://evil.example/", "v1/models"):
        with pytest.raises(EndpointError):
            client.url_for("api.openai.com", path)
    with pytest.raises(EndpointError):
        client.url_for("evil.example/x?", "/")


def test_override_fails_closed_for_unlisted_hosts():
    client = CredentialClient({"api.openai.com": "http://127.0.0.1:1", "*.openai.azure.com": "http://127.0.0.1:2"})
    assert client.url_for("res-1.openai.azure.com", "/openai/models") == "http://127.0.0.1:2/openai/models"
    with pytest.raises(EndpointError, match="does not list"):
        client.url_for("api.anthropic.com", "/v1/models")


def test_request_goes_to_standin_and_does_not_follow_redirects():
    with StandIn({("GET", "/v1/models"): reply(302, headers={"Location": "http://127.0.0.1:9/steal"}),
                  ("GET", "/ok"): reply(200, {"object": "list"})}) as server:
        client = CredentialClient({"api.openai.com": server.url}, min_interval=0)
        moved = client.get("api.openai.com", "/v1/models", headers={"Authorization": "Bearer k"})
        assert moved.status_code == 302
        assert client.get("api.openai.com", "/ok").json() == {"object": "list"}
    assert [r.path for r in server.requests] == ["/v1/models", "/ok"]
    assert server.requests[0].headers["authorization"] == "Bearer k"
    assert server.requests[0].headers["user-agent"].startswith("keyguard/")


def test_one_retry_on_transient_status_and_on_429_with_retry_after():
    waits: list[float] = []
    with StandIn({("GET", "/a"): sequence(reply(503), reply(200, {"ok": 1})),
                  ("GET", "/b"): sequence(reply(429, headers={"Retry-After": "2"}), reply(429)),
                  ("GET", "/c"): reply(503)}) as server:
        now = [0.0]

        def sleep(seconds: float) -> None:  # a clock that moves only when we wait
            waits.append(seconds)
            now[0] += seconds

        client = CredentialClient({"h.example": server.url}, min_interval=0,
                                  clock=lambda: now[0], sleep=sleep)
        assert client.get("h.example", "/a").status_code == 200
        assert client.get("h.example", "/b").status_code == 429
        assert client.get("h.example", "/c").status_code == 503
    assert [r.path for r in server.requests] == ["/a", "/a", "/b", "/b", "/c", "/c"]
    assert waits == [2.0]  # the retry after the 429 waited what the provider asked


def test_rate_limit_spaces_requests_per_host():
    waits: list[float] = []
    with StandIn({("GET", "/x"): reply(200)}) as server:
        client = CredentialClient({"h.example": server.url, "g.example": server.url}, min_interval=0.5,
                                  clock=lambda: 100.0, sleep=waits.append)
        for _ in range(3):
            client.get("h.example", "/x")
        client.get("g.example", "/x")
    assert waits == [0.5, 1.0]  # third request to h waits two slots; g has its own gate


def test_timeout_is_reported_without_url_or_headers():
    with StandIn({("GET", "/slow"): slow(1.0, reply(200))}) as server:
        client = CredentialClient({"h.example": server.url}, timeout=(1.0, 0.2), min_interval=0)
        with pytest.raises(RequestFailed) as caught:
            client.get("h.example", "/slow", headers={"Authorization": "Bearer SECRET-VALUE"},
                       params={"key": "SECRET-VALUE"})
    assert str(caught.value) == "h.example: timed out"
    assert "SECRET" not in repr(caught.value) and caught.value.__cause__ is None
