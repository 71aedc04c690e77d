"""``keyguard audit gcp``: every API key in your Google Cloud projects and what it can really call.

The danger this finds: a Maps or Firebase key, meant to be public, that silently became a Gemini
key when someone enabled the Generative Language API in the same project, because the key has no
API restriction ("If no restrictions are specified, all targets are allowed").

Read-only GETs, documented shapes:

- Resource Manager v1 ``GET https://cloudresourcemanager.googleapis.com/v1/projects``
  (``filter=lifecycleState:ACTIVE``) -> ``{"projects": [{"projectId", "projectNumber", "name",
  "lifecycleState"}], "nextPageToken"}``; lists projects the caller has
  ``resourcemanager.projects.get`` on.
  https://cloud.google.com/resource-manager/reference/rest/v1/projects/list
- Service Usage v1 ``GET https://serviceusage.googleapis.com/v1/projects/P/services/
  generativelanguage.googleapis.com`` -> ``{"name", "parent", "config", "state":
  "ENABLED"|"DISABLED"}`` (permission ``serviceusage.services.get``).
  https://cloud.google.com/service-usage/docs/reference/rest/v1/services/get
- API Keys v2 ``GET https://apikeys.googleapis.com/v2/projects/P/locations/global/keys`` ->
  ``{"keys": [Key], "nextPageToken"}``; "The key string of the API key isn't included in the
  response" (permission ``apikeys.keys.list``). Key: ``name``
  (``projects/N/locations/global/keys/ID``), ``uid``, ``displayName``, ``createTime``,
  ``updateTime``, ``deleteTime``, ``restrictions``: one of ``browserKeyRestrictions
  .allowedReferrers[]``, ``serverKeyRestrictions.allowedIps[]``, ``androidKeyRestrictions
  .allowedApplications[{sha1Fingerprint, packageName}]``, ``iosKeyRestrictions.allowedBundleIds[]``
  (mutually exclusive), plus ``apiTargets[{service, methods[]}]``.
  https://cloud.google.com/api-keys/docs/reference/rest/v2/projects.locations.keys
  ``keyString`` is never requested: keyguard does not call ``getKeyString``.

Credentials: ``KEYGUARD_GCP_ACCESS_TOKEN`` (an OAuth access token, e.g. from ``gcloud auth
print-access-token``), else google-auth (``pip install 'keyguard[gcp]'``) with a service-account
file (``--credentials``) or Application Default Credentials, scope ``cloud-platform.read-only``.
"""
from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence
from urllib.parse import quote, urlsplit

from ..http import ENDPOINTS_VARIABLE
from .fetch import ApiError, get_json, google_cursor, pages
from .model import AuditError, AuditFinding, AuditKey, AuditResult, AuditRule, iso

if TYPE_CHECKING:
    from ..http import CredentialClient

RESOURCE_MANAGER = "cloudresourcemanager.googleapis.com"
SERVICE_USAGE = "serviceusage.googleapis.com"
API_KEYS = "apikeys.googleapis.com"
GEMINI = "generativelanguage.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/cloud-platform.read-only"
TOKEN_VARIABLE = "KEYGUARD_GCP_ACCESS_TOKEN"
TOKEN_HOSTS = frozenset({"oauth2.googleapis.com", "accounts.google.com"})
PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]|\d{1,20}")  # an ID or a project number

UNRESTRICTED_GEMINI = AuditRule(
    "gcp-key-unrestricted-gemini-enabled", "API key without API restriction in a Gemini project",
    "The key has no API restriction and the Generative Language API is enabled in its project, "
    "so the key calls Gemini, billed to the project, for anyone who has it.")
GEMINI_WEAK_APP = AuditRule(
    "gcp-gemini-key-weak-app-restriction", "Gemini key usable outside a server",
    "The key may call the Generative Language API and its application restriction is none, HTTP "
    "referrers or app identifiers: values any caller can send, so the key works from anywhere.")
UNRESTRICTED = AuditRule(
    "gcp-key-unrestricted", "API key without API restriction",
    "The key may call every API enabled in its project that accepts API keys, today's and "
    "tomorrow's: enabling the Generative Language API turns it into a Gemini key.")


@dataclass(frozen=True)
class GcpToken:
    value: str
    quota_project: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.value}"}
        if self.quota_project:
            headers["x-goog-user-project"] = self.quota_project
        return headers


def token_from_environment(credentials_file: str | None = None,
                           environ: Mapping[str, str] | None = None) -> GcpToken:
    """The access token to audit with; AuditError with one clear line if there is none."""
    env = os.environ if environ is None else environ
    token = (env.get(TOKEN_VARIABLE) or "").strip()
    if token and not credentials_file:
        return GcpToken(token)
    if ENDPOINTS_VARIABLE in env:
        raise AuditError(f"{ENDPOINTS_VARIABLE} is set, so keyguard will not let google-auth reach "
                         f"Google's token endpoint: set {TOKEN_VARIABLE} instead")
    try:
        import google.auth
        import google.auth.exceptions
        import google.auth.transport.requests
    except ImportError:
        raise AuditError("no Google credentials: set KEYGUARD_GCP_ACCESS_TOKEN (e.g. from `gcloud auth "
                         "print-access-token`), or install google-auth with `pip install "
                         "'keyguard[gcp]'` for Application Default Credentials or --credentials FILE") from None
    try:
        if credentials_file:
            from google.oauth2 import service_account

            info = _service_account_info(credentials_file)
            creds: Any = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
        else:
            creds, _ = google.auth.default(scopes=[SCOPE])
        creds.refresh(google.auth.transport.requests.Request())
    except google.auth.exceptions.DefaultCredentialsError:
        raise AuditError("no Application Default Credentials: run `gcloud auth application-default "
                         "login`, pass --credentials FILE, or set KEYGUARD_GCP_ACCESS_TOKEN") from None
    except (google.auth.exceptions.GoogleAuthError, ValueError, KeyError) as exc:
        first = (str(exc).splitlines() or [""])[0][:160]
        raise AuditError(f"Google credentials: {type(exc).__name__}: {first}") from None
    return GcpToken(creds.token, getattr(creds, "quota_project_id", None))


def _service_account_info(path: str) -> dict[str, Any]:
    """The service-account file, refused if its token endpoint is not Google's."""
    try:
        with open(path, encoding="utf-8") as fh:
            info = json.load(fh)
    except OSError as exc:
        raise AuditError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise AuditError(f"{path}: not a JSON service-account key file") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise AuditError(f"{path}: not a service-account key file (\"type\": \"service_account\")")
    token_uri = urlsplit(str(info.get("token_uri", "")))
    if token_uri.scheme != "https" or token_uri.hostname not in TOKEN_HOSTS:
        raise AuditError(f"{path}: token_uri is not Google's token endpoint; refusing to send a signed "
                         "assertion there")
    return info


# -- the audit --------------------------------------------------------------------------------
def audit(client: CredentialClient, token: GcpToken, projects: Sequence[str] = ()) -> AuditResult:
    headers = token.headers()
    for project in projects:
        if not PROJECT_ID.fullmatch(project):
            raise AuditError(f"--project {project!r}: not a Google Cloud project ID or number")
    listed = ([{"projectId": p} for p in projects] if projects else _list_projects(client, headers))
    result = AuditResult("gcp", f"{len(listed)} project{'s' if len(listed) != 1 else ''}")
    for project in sorted(listed, key=lambda p: str(p.get("projectId"))):
        _audit_project(client, headers, project, result)
    result.notes.append("API keys are listed without their key strings (keyguard never calls "
                        "getKeyString), so leaked Google keys in a scan report cannot be matched to "
                        "these keys; the restrictions above are what each key can do if leaked.")
    return result


def _list_projects(client: CredentialClient, headers: Mapping[str, str]) -> list[dict[str, Any]]:
    try:
        return [p for p in pages(client, RESOURCE_MANAGER, "/v1/projects", headers=headers,
                                 items="projects", cursor=google_cursor,
                                 params={"filter": "lifecycleState:ACTIVE"})
                if isinstance(p.get("projectId"), str) and PROJECT_ID.fullmatch(p["projectId"])]
    except ApiError as exc:
        if exc.status == 401:
            raise AuditError(f"Google rejected the access token ({exc})") from None
        raise AuditError(f"cannot list projects ({exc}); the caller needs resourcemanager.projects.get "
                         "(e.g. roles/browser), or name projects with --project ID") from None


def _audit_project(client: CredentialClient, headers: Mapping[str, str], project: dict[str, Any],
                   result: AuditResult) -> None:
    pid = project["projectId"]
    try:
        keys = list(pages(client, API_KEYS, f"/v2/projects/{quote(pid, safe='')}/locations/global/keys",
                          headers=headers, items="keys", cursor=google_cursor))
    except ApiError as exc:
        if exc.status == 401:
            raise AuditError(f"Google rejected the access token ({exc})") from None
        why = " (needs apikeys.keys.list: roles/serviceusage.apiKeysViewer)" if exc.status == 403 else ""
        result.skip(pid, f"{exc}{why}")
        return
    gemini = _gemini_state(client, headers, pid, result)
    live = [k for k in keys if not k.get("deleteTime")]
    result.projects.append({"id": pid, "number": project.get("projectNumber"),
                            "name": project.get("name"), "gemini": gemini, "keys": len(live)})
    for raw in sorted(live, key=lambda k: str(k.get("name"))):
        key = _key(pid, raw)
        result.keys.append(key)
        finding = classify(key, raw.get("restrictions") or {}, gemini)
        if finding:
            result.flag(finding)


def _gemini_state(client: CredentialClient, headers: Mapping[str, str], pid: str,
                  result: AuditResult) -> str:
    try:
        body = get_json(client, SERVICE_USAGE, f"/v1/projects/{quote(pid, safe='')}/services/{GEMINI}",
                        headers=headers)
    except ApiError as exc:
        if exc.status == 401:
            raise AuditError(f"Google rejected the access token ({exc})") from None
        result.notes.append(f"{pid}: whether the Generative Language API is enabled is unknown ({exc}; "
                            "needs serviceusage.services.get: roles/serviceusage.serviceUsageViewer)")
        return "unknown"
    state = body.get("state")
    return state if state in ("ENABLED", "DISABLED") else "unknown"


def _key(pid: str, raw: dict[str, Any]) -> AuditKey:
    name = str(raw.get("name") or "")
    key_id = name.rsplit("/", 1)[-1] or str(raw.get("uid") or "")
    uid = str(raw.get("uid") or key_id)
    restrictions = raw.get("restrictions") or {}
    details: dict[str, Any] = {
        "application_restriction": describe_application(restrictions),
        "api_targets": [t.get("service") for t in restrictions.get("apiTargets") or () if isinstance(t, dict)],
    }
    if raw.get("serviceAccountEmail"):
        details["service_account"] = raw["serviceAccountEmail"]
    return AuditKey(
        "gcp", key_id, str(raw.get("displayName") or key_id), f"gcp://projects/{pid}/keys/{quote(uid, safe='')}", name,
        project=pid, created=iso(raw.get("createTime")),
        console=f"https://console.cloud.google.com/apis/credentials/key/{quote(key_id, safe='')}"
                f"?project={quote(pid, safe='')}",
        revoke=f"gcloud services api-keys delete {shlex.quote(name)}", details=details)


# -- what a key can do ------------------------------------------------------------------------
def application_kind(restrictions: dict[str, Any]) -> str:
    """none | referrers | ips | android | ios (the API allows at most one)."""
    if (restrictions.get("serverKeyRestrictions") or {}).get("allowedIps"):
        return "ips"
    if (restrictions.get("browserKeyRestrictions") or {}).get("allowedReferrers"):
        return "referrers"
    if (restrictions.get("androidKeyRestrictions") or {}).get("allowedApplications"):
        return "android"
    if (restrictions.get("iosKeyRestrictions") or {}).get("allowedBundleIds"):
        return "ios"
    return "none"


def describe_application(restrictions: dict[str, Any]) -> str:
    kind = application_kind(restrictions)
    if kind == "ips":
        return "server IPs " + ", ".join(map(str, restrictions["serverKeyRestrictions"]["allowedIps"]))
    if kind == "referrers":
        return "HTTP referrers " + ", ".join(map(str, restrictions["browserKeyRestrictions"]["allowedReferrers"]))
    if kind == "android":
        apps = restrictions["androidKeyRestrictions"]["allowedApplications"]
        return "Android apps " + ", ".join(str(a.get("packageName")) for a in apps if isinstance(a, dict))
    if kind == "ios":
        return "iOS apps " + ", ".join(map(str, restrictions["iosKeyRestrictions"]["allowedBundleIds"]))
    return "none"


def _application_flags(restrictions: dict[str, Any]) -> list[str]:
    """The gcloud flags that keep the key's current application restriction as it is."""
    kind = application_kind(restrictions)
    if kind == "ips":
        return ["--allowed-ips=" + ",".join(map(str, restrictions["serverKeyRestrictions"]["allowedIps"]))]
    if kind == "referrers":
        return ["--allowed-referrers=" + ",".join(
            map(str, restrictions["browserKeyRestrictions"]["allowedReferrers"]))]
    if kind == "android":
        return [f"--allowed-application=sha1_fingerprint={a.get('sha1Fingerprint')},"
                f"package_name={a.get('packageName')}"
                for a in restrictions["androidKeyRestrictions"]["allowedApplications"] if isinstance(a, dict)]
    if kind == "ios":
        return ["--allowed-bundle-ids=" + ",".join(map(str, restrictions["iosKeyRestrictions"]["allowedBundleIds"]))]
    return []


def _target_flags(restrictions: dict[str, Any]) -> list[str]:
    flags = []
    for target in restrictions.get("apiTargets") or ():
        if isinstance(target, dict) and target.get("service"):
            flag = f"--api-target=service={target['service']}"
            if target.get("methods"):
                flag += ",methods=" + ":".join(map(str, target["methods"]))
            flags.append(flag)
    return flags


def _command(name: str, flags: list[str]) -> str:
    return " ".join(["gcloud", "services", "api-keys", "update", shlex.quote(name),
                     *(shlex.quote(f) for f in flags)])


SPOOFABLE = {
    "none": "none (it works from any machine)",
    "referrers": "HTTP referrers only, which any caller outside a browser can send",
    "android": "Android app identifiers only, sent as request headers (X-Android-Package, "
               "X-Android-Cert) that anyone with the key can copy",
    "ios": "iOS bundle IDs only, sent as a request header (X-Ios-Bundle-Identifier) that anyone with "
           "the key can copy",
}


def classify(key: AuditKey, restrictions: dict[str, Any], gemini: str) -> AuditFinding | None:
    """The one finding (the worst) for a key, or None when its restrictions are sound."""
    targets = [t.get("service") for t in restrictions.get("apiTargets") or () if isinstance(t, dict)]
    app = application_kind(restrictions)
    app_text = SPOOFABLE.get(app, describe_application(restrictions))
    pid = key.project or ""
    label = f"{key.name} ({key.id}) in {pid}"

    def finding(rule: AuditRule, severity: str, title: str, reason: str, fix: str) -> AuditFinding:
        return AuditFinding(rule, severity, key.location, key.resource, title, reason, fix, key.console, key)

    if not targets:
        restrict = _command(key.resource, ["--api-target=service=SERVICE_THIS_KEY_IS_FOR",
                                           *_application_flags(restrictions)])
        fix = (f"{restrict}  (SERVICE_THIS_KEY_IS_FOR: the API the key serves, e.g. "
               f"maps-backend.googleapis.com; repeat --api-target for each)")
        if gemini == "ENABLED":
            severity = "high" if app == "ips" else "critical"
            return finding(
                UNRESTRICTED_GEMINI, severity, f"unrestricted key can call Gemini: {label}",
                f"No API restriction, and {GEMINI} is enabled in {pid}: this key calls Gemini, billed "
                f"to {pid}. Application restriction: {app_text}.",
                fix + f"; if {pid} does not use Gemini: gcloud services disable {GEMINI} "
                      f"--project={shlex.quote(pid)}")
        if gemini == "unknown":
            return finding(
                UNRESTRICTED, "high" if app in ("none", "referrers") else "medium",
                f"unrestricted key, Gemini state unknown: {label}",
                f"No API restriction, and keyguard could not read whether {GEMINI} is enabled in "
                f"{pid}; if it is, this key calls Gemini. Application restriction: {app_text}.", fix)
        return finding(
            UNRESTRICTED, "medium" if app == "none" else "low", f"unrestricted key: {label}",
            f"No API restriction: the key may call every API enabled in {pid} that accepts keys; "
            f"{GEMINI} is disabled now, and enabling it would make this a Gemini key. "
            f"Application restriction: {app_text}.", fix)
    if GEMINI in targets and app != "ips":
        severity = ("medium" if gemini == "DISABLED" or app in ("android", "ios") else "high")
        state = {"DISABLED": f"the API is disabled in {pid} for now",
                 "ENABLED": f"the API is enabled in {pid}",
                 "unknown": f"whether the API is enabled in {pid} is unknown"}[gemini]
        return finding(
            GEMINI_WEAK_APP, severity, f"Gemini key usable from anywhere: {label}",
            f"The key's API targets include {GEMINI} ({state}). Application restriction: {app_text}. "
            "A Gemini key belongs on a server, restricted to that server's IPs.",
            _command(key.resource, [*_target_flags(restrictions), "--allowed-ips=YOUR_SERVER_IPS"])
            + "  (YOUR_SERVER_IPS: the addresses your backend calls Gemini from; browsers and apps "
              "should call your backend, not Gemini)")
    return None
