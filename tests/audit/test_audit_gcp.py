"""``keyguard audit gcp`` against stand-ins for Resource Manager, Service Usage, API Keys and Cloud
Asset.

The stand-ins answer with the documented shapes (projects.list, services.list, keys.list,
searchAllIamPolicies), paginate with nextPageToken, refuse one project with 403 and rate-limit one
call with 429.
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

from keyguard.audit import gcp, gcp_token
from keyguard.audit.model import AuditError, AuditKey
from keyguard.audit.report import render
from keyguard.http import CredentialClient

from ..conftest import ROOT
from ..standin import Recorded, StandIn, reply, sequence

SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
TOKEN = "ya29.stand-in-access-token-for-tests"
GEMINI = "generativelanguage.googleapis.com"
VERTEX = "aiplatform.googleapis.com"
EDITOR_SA = "studio@alpha-proj.iam.gserviceaccount.com"
BETA_SA = "gemini-web@beta-proj.iam.gserviceaccount.com"


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


def _services(*names: str) -> dict:
    return {"services": [{"name": f"projects/1/services/{n}", "parent": "projects/1", "state": "ENABLED",
                          "config": {"name": n, "title": n}} for n in names]}


def _key(project_number: str, key_id: str, display: str, restrictions: dict | None = None,
         account: str | None = None) -> dict:
    key = {"name": f"projects/{project_number}/locations/global/keys/{key_id}", "uid": f"uid-{key_id}",
           "displayName": display, "createTime": "2024-03-01T10:00:00.123456789Z",
           "updateTime": "2024-03-02T10:00:00Z", "etag": "W/\"x\""}
    if restrictions is not None:
        key["restrictions"] = restrictions
    if account:
        key["serviceAccountEmail"] = account
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
        ("GET", "/v1/projects/alpha-proj/services"): _paged(
            {**_services(GEMINI, VERTEX), "nextPageToken": "svc-2"},
            _services("maps-backend.googleapis.com", "places-backend.googleapis.com", "logging.googleapis.com")),
        ("GET", "/v1/projects/beta-proj/services"): reply(200, _services(
            "firebase.googleapis.com", "identitytoolkit.googleapis.com")),
        ("GET", "/v1/projects/locked-proj/services"): FORBIDDEN,
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
                          "apiTargets": [{"service": "maps-backend.googleapis.com"}]}),
                      _key("111", "studio-key", "Gemini API Key", {"apiTargets": [{"service": GEMINI}]},
                           account=EDITOR_SA),
                      _key("111", "backend-auth", "Backend auth key", {
                          "serverKeyRestrictions": {"allowedIps": ["203.0.113.7"]}}, account=EDITOR_SA)]}),
        ("GET", "/v2/projects/beta-proj/locations/global/keys"): sequence(
            reply(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}, headers={"Retry-After": retry_after}),
            reply(200, {"keys": [
                _key("222", "beta-open", "Unrestricted"),
                _key("222", "beta-android", "Android app", {"androidKeyRestrictions": {"allowedApplications": [
                    {"sha1Fingerprint": "DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF:95:60:18:90:AF:D8:07:09",
                     "packageName": "com.example.beta"}]}}),
                _key("222", "beta-auth", "Web Gemini", {
                    "browserKeyRestrictions": {"allowedReferrers": ["https://beta.example/*"]}}, account=BETA_SA)]})),
        ("GET", "/v2/projects/locked-proj/locations/global/keys"): FORBIDDEN,
    }
    asset = {
        ("GET", "/v1/projects/alpha-proj:searchAllIamPolicies"): reply(200, {"results": [{
            "resource": "//cloudresourcemanager.googleapis.com/projects/alpha-proj", "project": "projects/111",
            "policy": {"bindings": [{"role": "roles/editor", "members": [f"serviceAccount:{EDITOR_SA}"]},
                                    {"role": "roles/aiplatform.user",
                                     "members": ["user:amy@example.com", f"serviceAccount:{EDITOR_SA}"]}]}}]}),
        ("GET", "/v1/projects/beta-proj:searchAllIamPolicies"): reply(403, {"error": {
            "code": 403, "message": "Cloud Asset API has not been used in project beta-proj", "status": "PERMISSION_DENIED"}}),
    }
    return manager, usage, keys, asset


class StandIns:
    def __init__(self, stack: ExitStack, retry_after: str = "0") -> None:
        manager, usage, keys, asset = _routes(retry_after)
        self.manager = stack.enter_context(StandIn(manager))
        self.usage = stack.enter_context(StandIn(usage))
        self.keys = stack.enter_context(StandIn(keys))
        self.asset = stack.enter_context(StandIn(asset))

    @property
    def endpoints(self) -> dict[str, str]:
        return {gcp.RESOURCE_MANAGER: self.manager.url, gcp.SERVICE_USAGE: self.usage.url, gcp.API_KEYS: self.keys.url,
                gcp.CLOUD_ASSET: self.asset.url}

    @property
    def requests(self) -> list[Recorded]:
        return self.manager.requests + self.usage.requests + self.keys.requests + self.asset.requests


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
        ("studio-key", "gcp-auth-key-usable-anywhere", "critical"),  # acts as an editor, from anywhere
        ("open-key", "gcp-key-unrestricted-billable", "high"),  # no Gemini any more, but Maps bills
        ("beta-auth", "gcp-auth-key-usable-anywhere", "high"),  # roles unreadable
        ("web-gemini", "gcp-standard-key-gemini-target", "low"),
        ("server-gemini", "gcp-standard-key-gemini-target", "low"),
        ("beta-open", "gcp-key-unrestricted", "medium"),
        ("beta-android", "gcp-key-unrestricted", "low"),
    }
    by_id = {f.key.id: f for f in result.findings}
    studio = by_id["studio-key"]
    assert f"acts as {EDITOR_SA} (roles roles/aiplatform.user, roles/editor)" in studio.reason
    assert "Gemini is enabled" in studio.reason and f"Vertex AI ({VERTEX}) is enabled in alpha-proj" in studio.reason
    assert "--allowed-ips=YOUR_SERVER_IPS" in studio.fix
    assert "roles unknown" in by_id["beta-auth"].reason
    assert any(BETA_SA in n and "roles/cloudasset.viewer" in n for n in result.notes)
    assert any("not counted in the service account's usage metrics" in n for n in result.notes)
    billed = by_id["open-key"]
    assert "maps-backend.googleapis.com, places-backend.googleapis.com" in billed.reason
    assert "Gemini refuses standard keys since September 2026" in billed.reason
    assert billed.location == "gcp://projects/alpha-proj/keys/uid-open-key"
    assert billed.fix.startswith("gcloud services api-keys update projects/111/locations/global/keys/open-key "
                                 "--api-target=service=SERVICE_THIS_KEY_IS_FOR")
    assert billed.console == "https://console.cloud.google.com/apis/credentials/key/open-key?project=alpha-proj"
    web = by_id["web-gemini"]
    assert "HTTP referrers only, which any caller outside a browser can send" in web.reason
    assert "auth key" in web.fix
    assert "none billed per call" in by_id["beta-open"].reason
    android = by_id["beta-android"].fix
    assert ("--allowed-application=sha1_fingerprint=DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF:95:60:18:90:AF:D8:07:09,"
            "package_name=com.example.beta") in android  # the fix keeps the app restriction it has
    auth = {k.id: k.details for k in result.keys if k.details["key_type"] == "auth"}
    assert auth["backend-auth"]["service_account"] == EDITOR_SA  # listed, no finding: IP-restricted
    assert auth["backend-auth"]["roles"] == ["roles/aiplatform.user", "roles/editor"]
    assert auth["beta-auth"]["roles"] is None
    assert len([r for r in standins.asset.requests if "alpha-proj" in r.path]) == 1  # once per account
    assert {_query(r)["query"] for r in standins.asset.requests} == {f"policy:{EDITOR_SA}", f"policy:{BETA_SA}"}

    # inventory: every key of both pages, Gemini state per project, the 403 project skipped
    assert sorted(k.id for k in result.keys) == ["backend-auth", "beta-android", "beta-auth", "beta-open", "maps-web",
                                                 "open-key", "server-gemini", "studio-key", "web-gemini"]
    assert {p["id"]: (p["gemini"], p["vertex_ai"]) for p in result.projects} == {
        "alpha-proj": ("ENABLED", "ENABLED"), "beta-proj": ("DISABLED", "DISABLED")}
    assert [_query(r).get("pageToken") for r in standins.usage.requests if "alpha-proj" in r.path] == [None, "svc-2"]
    assert all(_query(r)["filter"] == "state:ENABLED" for r in standins.usage.requests)
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


MAPS_AND_GEMINI = {"maps-backend.googleapis.com", GEMINI, VERTEX}
IPS = {"serverKeyRestrictions": {"allowedIps": ["198.51.100.1"]}}


@pytest.mark.parametrize("restrictions, enabled, expected", [
    # a standard key can no longer spend on Gemini or Vertex AI; what it can bill is the rest
    (_restricted(None, None), MAPS_AND_GEMINI, ("gcp-key-unrestricted-billable", "high")),
    (_restricted({"browserKeyRestrictions": {"allowedReferrers": ["https://a.example/*"]}}, None), MAPS_AND_GEMINI,
     ("gcp-key-unrestricted-billable", "high")),  # a referrer is any caller's to send
    (_restricted({"iosKeyRestrictions": {"allowedBundleIds": ["com.example"]}}, None), MAPS_AND_GEMINI,
     ("gcp-key-unrestricted-billable", "medium")),
    (_restricted(IPS, None), MAPS_AND_GEMINI, ("gcp-key-unrestricted-billable", "low")),
    (_restricted(None, None), {GEMINI, VERTEX}, ("gcp-key-unrestricted", "medium")),  # AI only: out of reach
    (_restricted(None, None), None, ("gcp-key-unrestricted", "high")),
    (_restricted(IPS, None), None, ("gcp-key-unrestricted", "medium")),
    (_restricted(None, [GEMINI]), MAPS_AND_GEMINI, ("gcp-standard-key-gemini-target", "low")),
    (_restricted(IPS, [GEMINI]), MAPS_AND_GEMINI, ("gcp-standard-key-gemini-target", "low")),
    (_restricted(None, ["maps-backend.googleapis.com"]), MAPS_AND_GEMINI, None),
    (_restricted({"browserKeyRestrictions": {"allowedReferrers": []}}, None), set(),
     ("gcp-key-unrestricted", "medium")),  # an empty referrer list restricts nothing
])
def test_classification_of_standard_keys(restrictions, enabled, expected):
    key = AuditKey("gcp", "k1", "key", "gcp://projects/p-123/keys/u1", "projects/1/locations/global/keys/k1",
                   project="p-123", details={"key_type": "standard"})
    finding = gcp.classify(key, restrictions, enabled)
    assert (None if finding is None else (finding.rule.id, finding.severity)) == expected


@pytest.mark.parametrize("restrictions, roles, expected", [
    (_restricted(None, None), ["roles/aiplatform.user"], ("gcp-auth-key-usable-anywhere", "high")),
    (_restricted(None, [GEMINI]), ["roles/owner"], ("gcp-auth-key-usable-anywhere", "critical")),
    (_restricted({"androidKeyRestrictions": {"allowedApplications": [{"packageName": "a.b"}]}}, None), None,
     ("gcp-auth-key-usable-anywhere", "high")),  # roles unknown
    (_restricted(IPS, None), ["roles/owner"], None),  # on a server, where it belongs
])
def test_classification_of_auth_keys(restrictions, roles, expected):
    key = AuditKey("gcp", "k1", "key", "gcp://projects/p-123/keys/u1", "projects/1/locations/global/keys/k1",
                   project="p-123", details={"key_type": "auth", "service_account": "sa@p-123.iam.gserviceaccount.com",
                                             "roles": roles})
    finding = gcp.classify(key, restrictions, {GEMINI})
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
    assert first["ruleId"] == "gcp-auth-key-usable-anywhere" and first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "gcp://projects/alpha-proj/keys/uid-studio-key"
    assert first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == \
        "projects/111/locations/global/keys/studio-key"
    assert first["properties"]["security-severity"] == "9.5"
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {
        "gcp-auth-key-usable-anywhere", "gcp-key-unrestricted-billable", "gcp-standard-key-gemini-target",
        "gcp-key-unrestricted"}
    assert any("locked-proj" in n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"])


def test_cli_json_text_output_file_and_exit_codes(standins, tmp_path):
    env = _env(standins, KEYGUARD_GCP_ACCESS_TOKEN=TOKEN)
    out = tmp_path / "audit.json"
    p = _keyguard("audit", "gcp", "--format", "json", "--output", str(out), env=env)
    assert p.returncode == 1 and p.stdout == "", p.stderr
    doc = json.loads(out.read_text())
    assert doc["audit"] == "gcp" and doc["summary"]["by_severity"] == {"critical": 1, "high": 2, "medium": 1, "low": 3}
    assert [f["severity"] for f in doc["findings"]] == ["critical", "high", "high", "medium", "low", "low", "low"]
    assert doc["skipped"][0]["project"] == "locked-proj"
    assert any("cannot be matched" in n for n in doc["notes"])

    p = _keyguard("audit", "gcp", "--project", "beta-proj", "--fail-on", "critical", env=env)
    assert p.returncode == 0, p.stderr  # beta-proj has a high, a medium and a low finding only
    assert "MEDIUM    unrestricted key: Unrestricted (beta-open) in beta-proj" in p.stdout
    assert "HIGH      auth key usable from anywhere: Web Gemini (beta-auth) in beta-proj" in p.stdout
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
        gcp_token.service_account_info(str(bad))


def test_text_report_escapes_what_the_provider_names():
    from keyguard.audit.model import AuditResult

    key = AuditKey("gcp", "k1", "evil\x1b[2J\nCRITICAL  fake finding", "gcp://projects/p-123/keys/u1",
                   "projects/1/locations/global/keys/k1", project="p-123")
    result = AuditResult("gcp", "1 project", keys=[key])
    result.flag(gcp.classify(key, {}, {"maps-backend.googleapis.com"}))
    text = render("text", result)
    assert "\x1b" not in text and "\nCRITICAL  fake finding" not in text
    assert "evil\\x1b[2J\\x0aCRITICAL  fake finding" in text
