"""``keyguard audit gcp`` against stand-ins for Resource Manager, Service Usage and API Keys.

The stand-ins answer with the documented shapes (projects.list, services.get, keys.list),
paginate with nextPageToken, refuse one project with 403 and rate-limit one call with 429.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import ExitStack
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest

from keyguard.audit import gcp
from keyguard.audit.model import AuditError, AuditKey
from keyguard.audit.report import render
from keyguard.http import CredentialClient

from .conftest import ROOT
from .standin import Recorded, StandIn, reply, sequence

SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
TOKEN = "ya29.stand-in-access-token-for-tests"
GEMINI = "generativelanguage.googleapis.com"


def _query(request: Recorded) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}


def _paged(*pages: dict) -> object:
    """Page i answers requests whose pageToken is the one page i-1 handed out."""
    by_token = {"": pages[0]}
    for i, page in enumerate(pages[:-1]):
        by_token[page["nextPageToken"]] = pages[i + 1]

    def handler(request: Recorded):
        page = by_token.get(_query(request).get("pageToken", ""))
        return reply(200, page) if page is not None else reply(400, {"error": {"status": "INVALID_ARGUMENT"}})
    return handler


def _key(project_number: str, key_id: str, display: str, restrictions: dict | None = None) -> dict:
    key = {"name": f"projects/{project_number}/locations/global/keys/{key_id}", "uid": f"uid-{key_id}",
           "displayName": display, "createTime": "2024-03-01T10:00:00.123456789Z",
           "updateTime": "2024-03-02T10:00:00Z", "etag": "W/\"x\""}
    if restrictions is not None:
        key["restrictions"] = restrictions
    return key


FORBIDDEN = reply(403, {"error": {"code": 403, "message": "Permission denied on resource project locked-proj.",
                                  "status": "PERMISSION_DENIED"}})


def _routes(retry_after: str) -> tuple[dict, dict, dict]:
    manager = {("GET", "/v1/projects"): _paged(
        {"projects": [{"projectNumber": "111", "projectId": "alpha-proj", "name": "Alpha", "lifecycleState": "ACTIVE"},
                      {"projectNumber": "222", "projectId": "beta-proj", "name": "Beta", "lifecycleState": "ACTIVE"}],
         "nextPageToken": "page-2"},
        {"projects": [{"projectNumber": "333", "projectId": "locked-proj", "name": "Locked",
                       "lifecycleState": "ACTIVE"}]})}
    usage = {
        ("GET", f"/v1/projects/alpha-proj/services/{GEMINI}"): reply(200, {
            "name": f"projects/111/services/{GEMINI}", "parent": "projects/111", "state": "ENABLED",
            "config": {"name": GEMINI, "title": "Generative Language API"}}),
        ("GET", f"/v1/projects/beta-proj/services/{GEMINI}"): reply(200, {
            "name": f"projects/222/services/{GEMINI}", "parent": "projects/222", "state": "DISABLED"}),
        ("GET", f"/v1/projects/locked-proj/services/{GEMINI}"): FORBIDDEN,
    }
    keys = {
        ("GET", "/v2/projects/alpha-proj/locations/global/keys"): _paged(
            {"keys": [_key("111", "open-key", "Maps key (old)"),
                      _key("111", "web-gemini", "Gemini from the web app", {
                          "browserKeyRestrictions": {"allowedReferrers": ["https://alpha.example/*"]},
                          "apiTargets": [{"service": GEMINI}]})],
             "nextPageToken": "keys-2"},
            {"keys": [_key("111", "server-gemini", "Backend", {
                          "serverKeyRestrictions": {"allowedIps": ["203.0.113.7"]},
                          "apiTargets": [{"service": GEMINI}]}),
                      _key("111", "maps-web", "Maps web", {
                          "browserKeyRestrictions": {"allowedReferrers": ["https://alpha.example/*"]},
                          "apiTargets": [{"service": "maps-backend.googleapis.com"}]})]}),
        ("GET", "/v2/projects/beta-proj/locations/global/keys"): sequence(
            reply(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}, headers={"Retry-After": retry_after}),
            reply(200, {"keys": [
                _key("222", "beta-open", "Unrestricted"),
                _key("222", "beta-android", "Android app", {"androidKeyRestrictions": {"allowedApplications": [
                    {"sha1Fingerprint": "DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF:95:60:18:90:AF:D8:07:09",
                     "packageName": "com.example.beta"}]}})]})),
        ("GET", "/v2/projects/locked-proj/locations/global/keys"): FORBIDDEN,
    }
    return manager, usage, keys


class StandIns:
    def __init__(self, stack: ExitStack, retry_after: str = "0") -> None:
        manager, usage, keys = _routes(retry_after)
        self.manager = stack.enter_context(StandIn(manager))
        self.usage = stack.enter_context(StandIn(usage))
        self.keys = stack.enter_context(StandIn(keys))

    @property
    def endpoints(self) -> dict[str, str]:
        return {gcp.RESOURCE_MANAGER: self.manager.url, gcp.SERVICE_USAGE: self.usage.url, gcp.API_KEYS: self.keys.url}

    @property
    def requests(self) -> list[Recorded]:
        return self.manager.requests + self.usage.requests + self.keys.requests


@pytest.fixture
def standins():
    with ExitStack() as stack:
        yield StandIns(stack)


def test_findings_severities_and_reasons():
    with ExitStack() as stack:
        _findings_severities_and_reasons(StandIns(stack, retry_after="2"))


def _findings_severities_and_reasons(standins: StandIns) -> None:
    waits: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    client = CredentialClient(standins.endpoints, min_interval=0, clock=lambda: now[0], sleep=sleep)
    result = gcp.audit(client, gcp.GcpToken(TOKEN))

    got = {(f.key.id, f.rule.id, f.severity) for f in result.findings}
    assert got == {
        ("open-key", "gcp-key-unrestricted-gemini-enabled", "critical"),
        ("web-gemini", "gcp-gemini-key-weak-app-restriction", "high"),
        ("beta-open", "gcp-key-unrestricted", "medium"),
        ("beta-android", "gcp-key-unrestricted", "low"),
    }
    by_id = {f.key.id: f for f in result.findings}
    critical = by_id["open-key"]
    assert "No API restriction" in critical.reason and f"{GEMINI} is enabled in alpha-proj" in critical.reason
    assert critical.location == "gcp://projects/alpha-proj/keys/uid-open-key"
    assert critical.fix.startswith("gcloud services api-keys update projects/111/locations/global/keys/open-key "
                                   "--api-target=service=SERVICE_THIS_KEY_IS_FOR")
    assert f"gcloud services disable {GEMINI} --project=alpha-proj" in critical.fix
    assert critical.console == "https://console.cloud.google.com/apis/credentials/key/open-key?project=alpha-proj"
    web = by_id["web-gemini"]
    assert "HTTP referrers only, which any caller outside a browser can send" in web.reason
    assert (f"--api-target=service={GEMINI} --allowed-ips=YOUR_SERVER_IPS") in web.fix
    assert "disabled now, and enabling it would make this a Gemini key" in by_id["beta-open"].reason
    android = by_id["beta-android"].fix
    assert ("--allowed-application=sha1_fingerprint=DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF:95:60:18:90:AF:D8:07:09,"
            "package_name=com.example.beta") in android  # the fix keeps the app restriction it has

    # inventory: every key of both pages, Gemini state per project, the 403 project skipped
    assert sorted(k.id for k in result.keys) == ["beta-android", "beta-open", "maps-web", "open-key",
                                                 "server-gemini", "web-gemini"]
    assert {p["id"]: p["gemini"] for p in result.projects} == {"alpha-proj": "ENABLED", "beta-proj": "DISABLED"}
    assert [s["project"] for s in result.skipped] == ["locked-proj"]
    assert "HTTP 403 PERMISSION_DENIED" in result.skipped[0]["reason"]
    assert "roles/serviceusage.apiKeysViewer" in result.skipped[0]["reason"]

    # pagination followed, 429 retried after the Retry-After the stand-in asked for
    assert [_query(r).get("pageToken") for r in standins.manager.requests] == [None, "page-2"]
    assert all(_query(r)["filter"] == "lifecycleState:ACTIVE" for r in standins.manager.requests)
    alpha = [r for r in standins.keys.requests if "alpha-proj" in r.path]
    assert [_query(r).get("pageToken") for r in alpha] == [None, "keys-2"]
    assert len([r for r in standins.keys.requests if "beta-proj" in r.path]) == 2
    assert waits == [2.0]

    # read-only, with the token, and never the key string
    assert all(r.method == "GET" and r.body == b"" for r in standins.requests)
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in standins.requests)
    assert not any("keyString" in r.path for r in standins.requests)


def test_explicit_projects_skip_listing(standins):
    client = CredentialClient(standins.endpoints, min_interval=0)
    result = gcp.audit(client, gcp.GcpToken(TOKEN, quota_project="billing-proj"), ["alpha-proj"])
    assert standins.manager.requests == []
    assert [p["id"] for p in result.projects] == ["alpha-proj"]
    assert all(r.headers["x-goog-user-project"] == "billing-proj" for r in standins.requests)
    with pytest.raises(AuditError, match="not a Google Cloud project ID"):
        gcp.audit(client, gcp.GcpToken(TOKEN), ["../../v1/evil"])


def test_rejected_token_is_fatal(standins):
    standins.manager.routes[("GET", "/v1/projects")] = reply(401, {"error": {"status": "UNAUTHENTICATED"}})
    client = CredentialClient(standins.endpoints, min_interval=0)
    with pytest.raises(AuditError, match="rejected the access token"):
        gcp.audit(client, gcp.GcpToken(TOKEN))


def test_a_host_missing_from_the_override_is_refused_not_skipped(standins):
    from keyguard.http import EndpointError

    client = CredentialClient({gcp.RESOURCE_MANAGER: standins.manager.url}, min_interval=0)
    with pytest.raises(EndpointError, match="does not list it"):
        gcp.audit(client, gcp.GcpToken(TOKEN))
    assert standins.keys.requests == [] and standins.usage.requests == []


def _restricted(app: dict | None, targets: list[str] | None) -> dict:
    restrictions = dict(app or {})
    if targets is not None:
        restrictions["apiTargets"] = [{"service": s} for s in targets]
    return restrictions


@pytest.mark.parametrize("restrictions, gemini, expected", [
    (_restricted({"serverKeyRestrictions": {"allowedIps": ["198.51.100.1"]}}, None), "ENABLED",
     ("gcp-key-unrestricted-gemini-enabled", "high")),  # an IP allow-list still stands in the way
    (_restricted({"iosKeyRestrictions": {"allowedBundleIds": ["com.example"]}}, None), "ENABLED",
     ("gcp-key-unrestricted-gemini-enabled", "critical")),
    (_restricted(None, None), "unknown", ("gcp-key-unrestricted", "high")),
    (_restricted({"serverKeyRestrictions": {"allowedIps": ["198.51.100.1"]}}, None), "unknown",
     ("gcp-key-unrestricted", "medium")),
    (_restricted(None, [GEMINI]), "ENABLED", ("gcp-gemini-key-weak-app-restriction", "high")),
    (_restricted(None, [GEMINI]), "DISABLED", ("gcp-gemini-key-weak-app-restriction", "medium")),
    (_restricted({"androidKeyRestrictions": {"allowedApplications": [{"packageName": "a.b"}]}}, [GEMINI]),
     "ENABLED", ("gcp-gemini-key-weak-app-restriction", "medium")),
    (_restricted({"serverKeyRestrictions": {"allowedIps": ["198.51.100.1"]}}, [GEMINI]), "ENABLED", None),
    (_restricted(None, ["maps-backend.googleapis.com"]), "ENABLED", None),
    (_restricted({"browserKeyRestrictions": {"allowedReferrers": []}}, None), "DISABLED",
     ("gcp-key-unrestricted", "medium")),  # an empty referrer list restricts nothing
])
def test_classification(restrictions, gemini, expected):
    key = AuditKey("gcp", "k1", "key", "gcp://projects/p-123/keys/u1", "projects/1/locations/global/keys/k1",
                   project="p-123")
    finding = gcp.classify(key, restrictions, gemini)
    assert (None if finding is None else (finding.rule.id, finding.severity)) == expected


def _keyguard(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keyguard", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def _env(standins: StandIns, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYGUARD_", "GOOGLE_"))}
    env["KEYGUARD_ENDPOINTS"] = ",".join(f"{h}={u}" for h, u in standins.endpoints.items())
    env.update(extra)
    return env


def test_sarif_is_valid_and_points_into_the_account(standins):
    result = gcp.audit(CredentialClient(standins.endpoints, min_interval=0), gcp.GcpToken(TOKEN))
    log = json.loads(render("sarif", result))
    jsonschema.validate(log, SARIF_SCHEMA)
    run = log["runs"][0]
    first = run["results"][0]
    assert first["ruleId"] == "gcp-key-unrestricted-gemini-enabled" and first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "gcp://projects/alpha-proj/keys/uid-open-key"
    assert first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == \
        "projects/111/locations/global/keys/open-key"
    assert first["properties"]["security-severity"] == "9.5"
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {
        "gcp-key-unrestricted-gemini-enabled", "gcp-gemini-key-weak-app-restriction", "gcp-key-unrestricted"}
    assert any("locked-proj" in n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"])


def test_cli_json_text_output_file_and_exit_codes(standins, tmp_path):
    env = _env(standins, KEYGUARD_GCP_ACCESS_TOKEN=TOKEN)
    out = tmp_path / "audit.json"
    p = _keyguard("audit", "gcp", "--format", "json", "--output", str(out), env=env)
    assert p.returncode == 1 and p.stdout == "", p.stderr
    doc = json.loads(out.read_text())
    assert doc["audit"] == "gcp" and doc["summary"]["by_severity"] == {"critical": 1, "high": 1, "medium": 1, "low": 1}
    assert [f["severity"] for f in doc["findings"]] == ["critical", "high", "medium", "low"]
    assert doc["skipped"][0]["project"] == "locked-proj"
    assert any("cannot be matched" in n for n in doc["notes"])

    p = _keyguard("audit", "gcp", "--project", "beta-proj", "--fail-on", "high", env=env)
    assert p.returncode == 0, p.stderr  # beta-proj has a medium and a low finding only
    assert "MEDIUM    unrestricted key: Unrestricted (beta-open) in beta-proj" in p.stdout
    assert TOKEN not in p.stdout + p.stderr + out.read_text()


def test_cli_without_credentials_is_one_line_exit_2(standins, tmp_path):
    p = _keyguard("audit", "gcp", env=_env(standins))
    assert p.returncode == 2
    assert "KEYGUARD_GCP_ACCESS_TOKEN" in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert standins.requests == []
    bad = tmp_path / "sa.json"
    bad.write_text(json.dumps({"type": "service_account", "token_uri": "https://evil.example/token"}))
    with pytest.raises(AuditError, match="token_uri is not Google's"):
        gcp._service_account_info(str(bad))


def test_text_report_escapes_what_the_provider_names():
    from keyguard.audit.model import AuditResult

    key = AuditKey("gcp", "k1", "evil\x1b[2J\nCRITICAL  fake finding", "gcp://projects/p-123/keys/u1",
                   "projects/1/locations/global/keys/k1", project="p-123")
    result = AuditResult("gcp", "1 project", keys=[key])
    result.flag(gcp.classify(key, {}, "ENABLED"))
    text = render("text", result)
    assert "\x1b" not in text and "\nCRITICAL  fake finding" not in text
    assert "evil\\x1b[2J\\x0aCRITICAL  fake finding" in text
