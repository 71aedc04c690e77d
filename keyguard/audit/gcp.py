"""``keyguard audit gcp``: every API key in your Google Cloud projects and what it can spend today.

Since the 2026 key migration (../shared/docs/providers.md, "Google key migration") Google has two
kinds of key. A *standard* key (AIza...) bills its project but identifies no caller; the Gemini
API refuses unrestricted standard keys since 2026-06-19 and every standard key since September
2026, and Vertex AI express mode never took them. Unrestricted, a standard key still calls and
bills every other key-accepting API enabled in its project (Maps Platform above all). An *auth*
key (AQ...) is bound to a service account and acts as it: Gemini by default, and Vertex AI
(aiplatform.googleapis.com) where bound keys are allowed.

Read-only GETs, documented shapes:

- Resource Manager v1 ``GET https://cloudresourcemanager.googleapis.com/v1/projects``
  (``filter=lifecycleState:ACTIVE``) -> ``{"projects": [{"projectId", "projectNumber", "name",
  "lifecycleState"}], "nextPageToken"}``; lists projects the caller has
  ``resourcemanager.projects.get`` on.
  https://cloud.google.com/resource-manager/reference/rest/v1/projects/list
- Service Usage v1 ``GET https://serviceusage.googleapis.com/v1/projects/P/services``
  (``filter=state:ENABLED``) -> ``{"services": [{"name", "parent", "config": {"name"}, "state"}],
  "nextPageToken"}`` (permission ``serviceusage.services.list``).
  https://cloud.google.com/service-usage/docs/reference/rest/v1/services/list
- API Keys v2 ``GET https://apikeys.googleapis.com/v2/projects/P/locations/global/keys`` ->
  ``{"keys": [Key], "nextPageToken"}`` without key strings (``apikeys.keys.list``); Key: ``name``,
  ``uid``, ``displayName``, ``createTime``, ``deleteTime``, ``serviceAccountEmail`` (auth keys),
  ``restrictions``: at most one of browser referrers, server IPs, Android apps, iOS bundle ids,
  plus ``apiTargets[{service, methods[]}]``. keyguard never calls ``getKeyString``.
  https://cloud.google.com/api-keys/docs/reference/rest/v2/projects.locations.keys
- Cloud Asset v1 ``GET https://cloudasset.googleapis.com/v1/projects/P:searchAllIamPolicies``
  (``query=policy:EMAIL``) -> ``{"results": [{"resource", "policy": {"bindings": [{"role",
  "members"}]}}], "nextPageToken"}``, only the bindings that match (permission
  ``cloudasset.assets.searchAllIamPolicies``): the roles of an auth key's service account.
  https://cloud.google.com/asset-inventory/docs/reference/rest/v1/TopLevel/searchAllIamPolicies

Credentials: ``KEYGUARD_GCP_ACCESS_TOKEN`` (an OAuth access token, e.g. from ``gcloud auth
print-access-token``), else google-auth (keyguard's ``gcp`` extra) with a service-account
file (``--credentials``) or Application Default Credentials, scope ``cloud-platform.read-only``.
"""
from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING, Any, Mapping, Sequence
from urllib.parse import quote

from .fetch import ApiError, google_cursor, pages
from .gcp_token import GcpToken
from .model import AuditError, AuditFinding, AuditKey, AuditResult, AuditRule, iso

if TYPE_CHECKING:
    from ..http import CredentialClient

RESOURCE_MANAGER = "cloudresourcemanager.googleapis.com"
SERVICE_USAGE = "serviceusage.googleapis.com"
API_KEYS = "apikeys.googleapis.com"
CLOUD_ASSET = "cloudasset.googleapis.com"
GEMINI = "generativelanguage.googleapis.com"
VERTEX = "aiplatform.googleapis.com"
AI_APIS = (GEMINI, VERTEX)  # the billable AI APIs a key can reach
# key-accepting APIs billed per call (Google Maps Platform and Cloud AI APIs priced per request);
# other enabled APIs are named, not claimed to bill
BILLED_BY_KEY = frozenset(f"{s}.googleapis.com" for s in (
    "addressvalidation", "aerialview", "airquality", "customsearch", "directions-backend",
    "distance-matrix-backend", "elevation-backend", "geocoding-backend", "geolocation", "language",
    "maps-backend", "places", "places-backend", "pollen", "roads", "routes", "solar", "speech",
    "static-maps-backend", "street-view-image-backend", "texttospeech", "timezone-backend", "translate",
    "videointelligence", "vision",
))
BROAD_ROLES = ("roles/owner", "roles/editor", "roles/iam.serviceAccountTokenCreator",
               "roles/iam.serviceAccountKeyAdmin", "roles/resourcemanager.projectIamAdmin")
PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]|\d{1,20}")  # an ID or a project number

AUTH_KEY_ANYWHERE = AuditRule(
    "gcp-auth-key-usable-anywhere", "Auth key (bound to a service account) usable outside a server",
    "The key is bound to a service account and acts as it (Gemini by default, Vertex AI where "
    "bound keys are allowed), and its application restriction is none, HTTP referrers or app "
    "identifiers: values any caller can send, so whoever has the key acts as the account.")
UNRESTRICTED_BILLABLE = AuditRule(
    "gcp-key-unrestricted-billable", "Standard key without API restriction in a project with billed APIs",
    "The key has no API restriction and its project has key-accepting APIs that bill per call "
    "(Maps Platform and the like) enabled: anyone with the key spends on them. Gemini refuses "
    "standard keys since September 2026; every other enabled API does not.")
UNRESTRICTED = AuditRule(
    "gcp-key-unrestricted", "API key without API restriction",
    "The key may call every API enabled in its project that accepts API keys, today's and "
    "tomorrow's.")
STANDARD_GEMINI_TARGET = AuditRule(
    "gcp-standard-key-gemini-target", "Standard key meant for Gemini",
    "The key lists the Generative Language API among its targets, but Gemini refuses standard "
    "keys since September 2026: whatever uses it for Gemini fails, and the fix people reach for "
    "(dropping restrictions) no longer helps. Gemini needs an auth key kept on a server.")


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
    if any(k.details.get("key_type") == "auth" for k in result.keys):
        result.notes.append("Requests made with service-account-bound (auth) keys are not counted in the "
                            "service account's usage metrics: look for their use in the project's API "
                            "metrics and billing, not the account's activity.")
    return result


def _fatal_if_rejected(exc: ApiError) -> None:
    if exc.status == 401:
        raise AuditError(f"Google rejected the access token ({exc})") from None


def _list_projects(client: CredentialClient, headers: Mapping[str, str]) -> list[dict[str, Any]]:
    try:
        return [p for p in pages(client, RESOURCE_MANAGER, "/v1/projects", headers=headers,
                                 items="projects", cursor=google_cursor,
                                 params={"filter": "lifecycleState:ACTIVE"})
                if isinstance(p.get("projectId"), str) and PROJECT_ID.fullmatch(p["projectId"])]
    except ApiError as exc:
        _fatal_if_rejected(exc)
        raise AuditError(f"cannot list projects ({exc}); the caller needs resourcemanager.projects.get "
                         "(e.g. roles/browser), or name projects with --project ID") from None


def _audit_project(client: CredentialClient, headers: Mapping[str, str], project: dict[str, Any],
                   result: AuditResult) -> None:
    pid = project["projectId"]
    try:
        keys = list(pages(client, API_KEYS, f"/v2/projects/{quote(pid, safe='')}/locations/global/keys",
                          headers=headers, items="keys", cursor=google_cursor))
    except ApiError as exc:
        _fatal_if_rejected(exc)
        why = " (needs apikeys.keys.list: roles/serviceusage.apiKeysViewer)" if exc.status == 403 else ""
        result.skip(pid, f"{exc}{why}")
        return
    enabled = _enabled_apis(client, headers, pid, result)
    live = [k for k in keys if not k.get("deleteTime")]
    state = {api: "unknown" if enabled is None else ("ENABLED" if api in enabled else "DISABLED") for api in AI_APIS}
    result.projects.append({"id": pid, "number": project.get("projectNumber"), "name": project.get("name"),
                            "gemini": state[GEMINI], "vertex_ai": state[VERTEX],
                            "billed_by_key": sorted((enabled or set()) & BILLED_BY_KEY), "keys": len(live)})
    roles: dict[str, list[str] | None] = {}
    for raw in sorted(live, key=lambda k: str(k.get("name"))):
        key = _key(pid, raw)
        account = key.details.get("service_account")
        if account:
            if account not in roles:
                roles[account] = _roles_of(client, headers, pid, account, result)
            key.details["roles"] = roles[account]
        result.keys.append(key)
        finding = classify(key, raw.get("restrictions") or {}, enabled)
        if finding:
            result.flag(finding)


def _enabled_apis(client: CredentialClient, headers: Mapping[str, str], pid: str,
                  result: AuditResult) -> set[str] | None:
    """The project's enabled services; None (and a note) if the caller may not list them."""
    try:
        services = pages(client, SERVICE_USAGE, f"/v1/projects/{quote(pid, safe='')}/services", headers=headers,
                         items="services", cursor=google_cursor, params={"filter": "state:ENABLED"})
        return {str((s.get("config") or {}).get("name") or str(s.get("name", "")).rsplit("/", 1)[-1])
                for s in services if s.get("state", "ENABLED") == "ENABLED"}
    except ApiError as exc:
        _fatal_if_rejected(exc)
        result.notes.append(f"{pid}: which APIs are enabled (Gemini, Vertex AI, Maps...) is unknown ({exc}; "
                            "needs serviceusage.services.list: roles/serviceusage.serviceUsageViewer)")
        return None


def _roles_of(client: CredentialClient, headers: Mapping[str, str], pid: str, account: str,
              result: AuditResult) -> list[str] | None:
    """The roles granted to ``account`` in the project's IAM policy; None if unreadable."""
    member = f"serviceAccount:{account}"
    try:
        found = pages(client, CLOUD_ASSET, f"/v1/projects/{quote(pid, safe='')}:searchAllIamPolicies",
                      headers=headers, items="results", cursor=google_cursor, params={"query": f"policy:{account}"})
        return sorted({str(b.get("role")) for r in found for b in (r.get("policy") or {}).get("bindings") or ()
                       if isinstance(b, dict) and member in (b.get("members") or ())})
    except ApiError as exc:
        _fatal_if_rejected(exc)
        result.notes.append(f"{pid}: the roles of {account} are unknown ({exc}; needs "
                            "cloudasset.assets.searchAllIamPolicies: roles/cloudasset.viewer, and the Cloud "
                            "Asset API enabled)")
        return None


def _key(pid: str, raw: dict[str, Any]) -> AuditKey:
    name = str(raw.get("name") or "")
    key_id = name.rsplit("/", 1)[-1] or str(raw.get("uid") or "")
    uid = str(raw.get("uid") or key_id)
    restrictions = raw.get("restrictions") or {}
    details: dict[str, Any] = {
        "key_type": "auth" if raw.get("serviceAccountEmail") else "standard",
        "application_restriction": describe_application(restrictions),
        "api_targets": [t.get("service") for t in restrictions.get("apiTargets") or () if isinstance(t, dict)],
    }
    if raw.get("serviceAccountEmail"):
        details["service_account"] = str(raw["serviceAccountEmail"])
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


def classify(key: AuditKey, restrictions: dict[str, Any], enabled: set[str] | None) -> AuditFinding | None:
    """The one finding (the worst) for a key, or None when its restrictions are sound.

    ``enabled``: the project's enabled APIs (None: unknown). What a key can spend today:

    ========================  ===========================  ====================================
    key                       application restriction      severity
    ========================  ===========================  ====================================
    auth (service account)    server IPs                   none
    auth                      none, referrers, app ids     critical if the account holds a broad
                                                           role (owner, editor, IAM admin), else high
    standard, no API target   none or referrers            high if a per-call-billed API (Maps...)
                                                           is enabled or unknown, else medium
    standard, no API target   Android or iOS app ids       medium if billed APIs, else low
    standard, no API target   server IPs                   low
    standard, targets Gemini  any                          low (Gemini refuses it: migrate)
    ========================  ===========================  ====================================
    """
    targets = [t.get("service") for t in restrictions.get("apiTargets") or () if isinstance(t, dict)]
    app = application_kind(restrictions)
    app_text = SPOOFABLE.get(app, describe_application(restrictions))
    pid = key.project or ""
    label = f"{key.name} ({key.id}) in {pid}"

    def finding(rule: AuditRule, severity: str, title: str, reason: str, fix: str) -> AuditFinding:
        return AuditFinding(rule, severity, key.location, key.resource, title, reason, fix, key.console, key)

    def ai_state(api: str) -> str:
        return "unknown" if enabled is None else ("enabled" if api in enabled else "disabled")

    account = key.details.get("service_account")
    if account:
        if app == "ips":
            return None
        roles = key.details.get("roles")
        broad = [r for r in roles or () if r in BROAD_ROLES]
        role_text = ("roles unknown" if roles is None else
                     f"roles {', '.join(roles)}" if roles else "no project roles")
        reach = ", ".join(targets) if targets else f"{GEMINI} by default"
        return finding(
            AUTH_KEY_ANYWHERE, "critical" if broad else "high", f"auth key usable from anywhere: {label}",
            f"The key acts as {account} ({role_text}) and calls {reach}; Gemini is {ai_state(GEMINI)} and "
            f"Vertex AI ({VERTEX}) is {ai_state(VERTEX)} in {pid}, billed to it. Application restriction: "
            f"{app_text}. An auth key belongs on a server.",
            _command(key.resource, [*_target_flags(restrictions), "--allowed-ips=YOUR_SERVER_IPS"])
            + "  (YOUR_SERVER_IPS: the addresses your backend calls from; browsers and apps should call "
              f"your backend); review what {account} may do")
    if not targets:
        restrict = _command(key.resource, ["--api-target=service=SERVICE_THIS_KEY_IS_FOR",
                                           *_application_flags(restrictions)])
        fix = (f"{restrict}  (SERVICE_THIS_KEY_IS_FOR: the API the key serves, e.g. "
               f"maps-backend.googleapis.com; repeat --api-target for each)")
        billed = sorted((enabled or set()) & BILLED_BY_KEY)
        gemini_note = (f"Gemini refuses standard keys since September 2026 and Vertex AI express mode never "
                       f"took them, so {', '.join(AI_APIS)} are out of its reach.")
        if enabled is None:
            return finding(
                UNRESTRICTED, "high" if app in ("none", "referrers") else "medium",
                f"unrestricted key, enabled APIs unknown: {label}",
                f"No API restriction, and keyguard could not read which APIs are enabled in {pid}: the "
                f"key calls and bills every key-accepting one (e.g. Maps). {gemini_note} Application "
                f"restriction: {app_text}.", fix)
        if billed:
            severity = {"none": "high", "referrers": "high", "android": "medium", "ios": "medium"}.get(app, "low")
            shown = ", ".join(billed[:6]) + (f" and {len(billed) - 6} more" if len(billed) > 6 else "")
            return finding(
                UNRESTRICTED_BILLABLE, severity, f"unrestricted key can bill {pid}: {label}",
                f"No API restriction, and {pid} has per-call-billed APIs enabled ({shown}): anyone with the "
                f"key spends on them. {gemini_note} Application restriction: {app_text}.", fix)
        return finding(
            UNRESTRICTED, "medium" if app in ("none", "referrers") else "low", f"unrestricted key: {label}",
            f"No API restriction: the key may call every key-accepting API enabled in {pid} "
            f"({len(enabled)} enabled now, none billed per call in keyguard's list), and any enabled later. "
            f"{gemini_note} Application restriction: {app_text}.", fix)
    if GEMINI in targets:
        return finding(
            STANDARD_GEMINI_TARGET, "low", f"standard key meant for Gemini: {label}",
            f"The key's API targets include {GEMINI}, but Gemini refuses standard keys since September 2026 "
            f"(unrestricted ones since 2026-06-19). Application restriction: {app_text}.",
            f"Create an auth key for Gemini (Google AI Studio, or the console's \"bind to service account\") "
            f"and keep it on a server; then {_command(key.resource, [t for t in _target_flags(restrictions) if GEMINI not in t])}"
            f"  (or delete this key: gcloud services api-keys delete {shlex.quote(key.resource)})")
    return None
