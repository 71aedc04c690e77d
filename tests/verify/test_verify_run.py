"""The check runner: each distinct secret once, a bounded pool, progress, honest failures."""
from __future__ import annotations

import threading
import time

from keyguard.http import CredentialClient
from keyguard.model import Finding, Rule
from keyguard.verify.run import verify_findings

from ..standin import Recorded, StandIn, reply
from ..verify_support import fake

GEMINI = "generativelanguage.googleapis.com"


def finding(secret: str, provider: str = "google", rule_id: str = "google-api-key",
            path: str = "a.js") -> Finding:
    r = Rule(id=rule_id, provider=provider, name=rule_id, description="", regex="", keywords=(),
             severity="high", remediation="")
    return Finding(rule=r, secret=secret, path=path, line=1, column=1, end_column=40, severity="high",
                   commit={"sha": "0" * 40})  # a commit: nothing is read from disk


def client(server: StandIn, *hosts: str) -> CredentialClient:
    return CredentialClient({h: server.url for h in hosts or (GEMINI,)}, timeout=(1.0, 2.0), min_interval=0)


def test_checks_run_concurrently_in_a_bounded_pool():
    lock, in_flight, peak = threading.Lock(), [0], [0]

    def handler(_: Recorded):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.25)
        with lock:
            in_flight[0] -= 1
        return reply(200, {"models": []})

    findings = [finding(fake("google", seed)) for seed in range(7)]
    with StandIn({("GET", "/v1beta/models"): handler}) as server:
        checks = verify_findings(findings, client(server), workers=3)
    assert checks == 7 and len(server.requests) == 7
    assert 2 <= peak[0] <= 3  # concurrent, and never more than the pool
    assert all(f.verification["status"] == "live" for f in findings)


def test_each_distinct_secret_once_and_progress_counts_checks():
    a, b = fake("google", 1), fake("google", 2)
    findings = [finding(a, path="x.js"), finding(a, path="y.js"), finding(b),
                finding(a, provider="generic", rule_id="generic-api-key-assignment", path="z.env")]
    seen: list[tuple[int, int]] = []
    with StandIn({("GET", "/v1beta/models"): reply(200, {"models": []})}) as server:
        checks = verify_findings(findings, client(server), progress=lambda d, t: seen.append((d, t)))
    assert checks == 2 and len(server.requests) == 2
    assert sorted(r.headers["x-goog-api-key"] for r in server.requests) == sorted([a, b])
    assert seen == [(1, 2), (2, 2)]
    assert findings[3].verification == findings[0].verification  # the generic finding shares it
    assert [f.severity for f in findings] == ["critical"] * 4


def test_an_answer_keyguard_fails_to_read_is_unknown_and_the_rest_go_on(monkeypatch):
    import keyguard.verify.run as run_module

    real = run_module.verifier_for

    def broken(secret, context, client):  # stands for a reader bug on some odd answer
        raise TypeError("unexpected shape")

    monkeypatch.setattr(run_module, "verifier_for",
                        lambda provider, rule_id: broken if provider == "huggingface" else real(provider, rule_id))
    hf, google = fake("huggingface"), fake("google")
    findings = [finding(hf, "huggingface", "huggingface-token"), finding(google)]
    with StandIn({("GET", "/v1beta/models"): reply(200, {"models": []})}) as server:
        verify_findings(findings, client(server, GEMINI))
    assert findings[0].verification["status"] == "unknown"
    assert "could not read the provider's answer (TypeError)" in findings[0].verification["reasons"][0]
    assert findings[0].severity == "high"  # unknown keeps the rule's severity
    assert findings[1].verification["status"] == "live"


def test_an_odd_body_is_read_safely():
    hf = fake("huggingface")
    findings = [finding(hf, "huggingface", "huggingface-token")]
    with StandIn({("GET", "/api/whoami-v2"): reply(200, {"auth": "not an object", "orgs": "x"})}) as server:
        verify_findings(findings, client(server, "huggingface.co"))
    assert findings[0].verification["status"] == "live" and "role" not in findings[0].verification.get("scope", {})


def test_no_live_check_for_a_provider_is_unknown_and_sends_nothing():
    f = finding("x" * 40, provider="generic", rule_id="generic-api-key-assignment")
    with StandIn({("GET", "*"): reply(200)}) as server:
        assert verify_findings([f], client(server)) == 0
    assert server.requests == [] and f.verification["status"] == "unknown"
    assert f.severity == "high"
