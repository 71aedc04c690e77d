"""The usage anomaly rules on synthetic daily series: flat, noisy, a weekly cycle, a spike, a slow
ramp, an idle key, a new key and a new model, with the flags each should (and should not) raise."""
from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from keyguard.audit import anomalies
from keyguard.audit.model import AuditKey, AuditResult
from keyguard.audit.usage import Usage, Window

DAYS = 30


def flat(level: float = 100.0) -> list[float]:
    return [level] * DAYS


def noisy(level: float = 100.0, spread: float = 0.2, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [round(level * (1 + rng.uniform(-spread, spread))) for _ in range(DAYS)]


def weekly(weekday: float = 1000.0, weekend: float = 150.0, seed: int = 3) -> list[float]:
    rng = random.Random(seed)
    return [round((weekend if d % 7 in (5, 6) else weekday) * rng.uniform(0.93, 1.07)) for d in range(DAYS)]


def ramp(start: float = 100.0, end: float = 400.0) -> list[float]:
    return [round(start + (end - start) * d / (DAYS - 1)) for d in range(DAYS)]


def with_last(series: list[float], last: float) -> list[float]:
    return series[:-1] + [last]


@pytest.mark.parametrize("name, series, flagged", [
    ("flat", flat(), False),
    ("flat, one request more", with_last(flat(), 101), False),
    ("noisy", noisy(), False),
    ("noisy, a high but ordinary day", with_last(noisy(), 125), False),
    ("weekly cycle ending on a weekday", weekly()[:-1] + [weekly()[-3]], False),
    ("weekly cycle, Monday after the weekend", weekly()[2:] + weekly()[:2], False),
    ("slow ramp", ramp(), False),
    ("idle key, one request", with_last([0] * DAYS, 1), False),
    ("idle key, a few requests", with_last([0] * DAYS, 15), False),
    ("flat, spike", with_last(flat(), 5000), True),
    ("noisy, spike", with_last(noisy(), 600), True),
    ("weekly cycle, spike", with_last(weekly(), 9000), True),
    ("slow ramp, then spike", with_last(ramp(), 3000), True),
    ("idle key wakes up", with_last([0] * DAYS, 500), True),
])
def test_spike_rule(name, series, flagged):
    found = anomalies.spike(series, "requests")
    assert (found is not None) == flagged, (name, found)
    if found:
        assert found.last == series[-1] and found.threshold < found.last and found.history == DAYS - 1


def test_spike_numbers_and_floors():
    found = anomalies.spike(with_last(flat(), 5000))
    assert (found.baseline, found.mad, found.threshold) == (100, 0, 125)  # a quarter of the median
    assert anomalies.spike(with_last([0] * DAYS, 21)).threshold == 20  # the floor for requests
    assert anomalies.spike(with_last([0] * DAYS, 15_000), "tokens") is None  # the floor for tokens is higher
    assert anomalies.spike([0, 0, 0, 5000]) is None  # too little history to judge


def test_first_use_rule():
    assert anomalies.first_use([0] * 20 + [3] * 10) == 20
    assert anomalies.first_use([0] * 3 + [3] * 27) is None  # used early in the window: not new
    assert anomalies.first_use(flat()) is None
    assert anomalies.first_use([0] * DAYS) is None


def _usage(now: datetime) -> Usage:
    return Usage("openai", Window(now, DAYS), "requests")


def test_flags_on_a_read_out():
    now = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
    usage = _usage(now)
    steady = usage.key("key_steady", "steady")
    spiking = usage.key("key_spike", "spiky")
    fresh = usage.key("key_new", "fresh")
    leaked = usage.key("key_leak", "leaky")
    for day, value in enumerate(weekly()):
        steady.add(day, requests=value, tokens=value * 50, model="gpt-4o-mini")
    for day, value in enumerate(with_last(noisy(), 4000)):
        spiking.add(day, requests=value, tokens=value * 10, model="gpt-4o-mini")
    spiking.add(DAYS - 1, requests=30, tokens=900, model="o3")  # a new model on the spike day
    for day in range(24, DAYS):
        fresh.add(day, requests=40, tokens=4000, model="gpt-4o")
    leaked.add(DAYS - 2, requests=1, tokens=10, model="gpt-4o")
    result = AuditResult("openai", "organization")
    result.keys.append(AuditKey("openai", "key_leak", "leaky", "openai://organization/projects/p/api_keys/key_leak",
                                "/v1/organization/projects/p/api_keys/key_leak", revoke="curl -X DELETE ...",
                                leaked_in=[{"path": "app.py", "line": 3}]))
    usage.limits.append({"scope": "project", "id": "proj_a", "name": "Web", "location": "openai://organization/projects/proj_a",
                         "status": "enforced", "limit": 100.0, "period": "month", "currency": "USD",
                         "spent_window": 130.0, "spent_month": 101.5})
    usage.limits.append({"scope": "project", "id": "proj_b", "name": "Lab", "location": "openai://organization/projects/proj_b",
                         "status": "none", "limit": None, "currency": "USD", "spent_window": 12.0, "spent_month": 3.0})
    usage.limits.append({"scope": "project", "id": "proj_c", "name": "Calm", "location": "openai://organization/projects/proj_c",
                         "status": "enforced", "limit": 100.0, "currency": "USD", "spent_window": 50.0, "spent_month": 20.0})
    anomalies.flag(result, usage)
    got = sorted((f.rule.id, f.severity, f.title) for f in result.findings)
    assert got == sorted([
        ("usage-spike", "high", "usage spike: spiky"),
        ("usage-new-model", "medium", "new model or API for spiky: o3"),
        ("usage-new-key", "medium", "key first used 2026-11-28: fresh"),
        ("usage-new-key", "low", "key first used 2026-12-02: leaky"),  # one request: below the floor
        ("usage-leaked-key-in-use", "critical", "leaked key is being used: leaky"),
        ("usage-over-spend-limit", "high", "spend limit reached: project Web"),
        ("usage-spend-without-limit", "medium", "spend without a limit: project Lab"),
    ])
    by = {f.rule.id: f for f in result.findings}
    assert "4,030 requests;" in by["usage-spike"].reason and "median" in by["usage-spike"].reason
    assert "1 request in the window" in by["usage-leaked-key-in-use"].reason
    assert "app.py:3" in by["usage-leaked-key-in-use"].reason
    assert by["usage-leaked-key-in-use"].fix == "curl -X DELETE ..."
    fresh_finding = next(f for f in result.findings if f.title.endswith(": fresh"))
    assert "No usage from 2026-11-04 to 2026-11-27, then 240 requests from 2026-11-28 on" in fresh_finding.reason
    assert "$" not in by["usage-over-spend-limit"].reason and "101.50 USD" in by["usage-over-spend-limit"].reason
    assert len({f.fingerprint for f in result.findings}) == len(result.findings)
