"""Google Cloud: requests per API key (credential) and day, from Cloud Monitoring.

One read-only GET per page and project (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/
projects.timeSeries/list): ``GET https://monitoring.googleapis.com/v3/projects/P/timeSeries`` with
``filter=metric.type="serviceruntime.googleapis.com/api/request_count" AND
resource.type="consumed_api"``, the window as ``interval.startTime``/``interval.endTime``, daily
sums (``aggregation.alignmentPeriod=86400s``, ``perSeriesAligner=ALIGN_SUM``,
``crossSeriesReducer=REDUCE_SUM``) grouped by ``resource.label.credential_id`` and
``resource.label.service`` -> ``{"timeSeries": [{"metric": {"type"}, "resource": {"type":
"consumed_api", "labels": {"project_id", "service", "credential_id"}}, "metricKind": "DELTA",
"valueType": "INT64", "points": [{"interval": {"startTime", "endTime"}, "value": {"int64Value":
"123"}}]}], "nextPageToken"}``. Needs ``monitoring.timeSeries.list`` (roles/monitoring.viewer).

``credential_id`` values look like ``apikey:<key uid>`` and are joined to the keys the audit
listed. That this label is filled on the public ``consumed_api`` metric is not confirmed by
Google's documentation; where series come back without it, the counts are shown per project and
API instead, and the report says per-key attribution is unknown. Days are the 24-hour periods
ending at the read-out's time, each labelled with the date it ends on. Cloud Monitoring has no
cost: cost is not shown for Google.
"""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Callable
from urllib.parse import quote, unquote

from .fetch import ApiError, google_cursor, pages
from .model import AuditError, AuditResult, parse_time
from .usage import Usage, Window, number

if TYPE_CHECKING:
    from ..http import CredentialClient
    from .gcp import GcpToken

MONITORING = "monitoring.googleapis.com"
METRIC = "serviceruntime.googleapis.com/api/request_count"
_PAGE = "500"


def read(client: CredentialClient, token: GcpToken, result: AuditResult, window: Window,
         progress: Callable[[str], None]) -> Usage:
    usage = Usage("gcp", window, "requests")
    by_uid: dict[str, str] = {}
    for key in result.keys:
        uid = unquote(key.location.rsplit("/", 1)[-1])
        kid = f"apikey:{uid}"
        by_uid[uid] = by_uid[key.id] = kid
        entry = usage.key(kid, key.name)
        entry.project, entry.location, entry.created = key.project, key.location, key.created
    unlabelled = False
    for project in result.projects:
        pid = str(project["id"])
        try:
            unlabelled |= _project(client, token, pid, window, usage, by_uid, progress)
        except ApiError as exc:
            if exc.status == 401:
                raise AuditError(f"Google rejected the access token ({exc})") from None
            why = " (needs monitoring.timeSeries.list: roles/monitoring.viewer)" if exc.status == 403 else ""
            usage.unknown(f"monitoring {pid}", f"{exc}{why}")
            continue
        usage.ok(f"monitoring {pid}")
        for entry in usage.keys.values():  # this project read, and no usage: zeros, not "not reported"
            if entry.project == pid:
                entry.measured("requests")
    if unlabelled:
        usage.notes.append("some request counts came without a credential_id label: they are shown per "
                           "project and API ('PROJECT (no credential_id)'); which key made them is unknown")
    usage.cost_grain = "none: Cloud Monitoring reports request counts, not cost (see Cloud Billing)"
    usage.notes.append("days are the 24-hour periods ending at the read-out's time, labelled by the date "
                       "they end on; spend limits (budgets) are not read for Google")
    return usage


def _project(client: CredentialClient, token: GcpToken, pid: str, window: Window, usage: Usage,
             by_uid: dict[str, str], progress: Callable[[str], None]) -> bool:
    params = {
        "filter": f'metric.type="{METRIC}" AND resource.type="consumed_api"',
        "interval.startTime": window.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "interval.endTime": window.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aggregation.alignmentPeriod": "86400s",
        "aggregation.perSeriesAligner": "ALIGN_SUM",
        "aggregation.crossSeriesReducer": "REDUCE_SUM",
        "aggregation.groupByFields": ["resource.label.credential_id", "resource.label.service"],
        "pageSize": _PAGE,
    }
    unlabelled = False
    for series in pages(client, MONITORING, f"/v3/projects/{quote(pid, safe='')}/timeSeries",
                        headers=token.headers(), items="timeSeries", cursor=google_cursor, params=params):
        resource = series.get("resource") if isinstance(series.get("resource"), dict) else {}
        labels = resource.get("labels") if isinstance(resource.get("labels"), dict) else {}
        credential = labels.get("credential_id") if isinstance(labels.get("credential_id"), str) else ""
        service = str(labels.get("service") or "(API not reported)")
        progress(f"gcp monitoring {pid}: {service}")
        if credential:
            kind, _, ident = credential.partition(":")
            kid = by_uid.get(ident, credential) if kind == "apikey" else credential
        else:
            kid, unlabelled = f"{pid} (no credential_id)", True
        entry = usage.key(kid)
        if entry.project is None:
            entry.project = pid
        for point in series.get("points") or ():
            if not isinstance(point, dict):
                continue
            end = parse_time((point.get("interval") or {}).get("endTime"))
            day = usage.window.index(end - timedelta(microseconds=1) if end else None)
            if day is None:
                continue
            value = point.get("value") if isinstance(point.get("value"), dict) else {}
            count = number(value.get("int64Value", value.get("doubleValue")))
            entry.add(day, requests=count, model=service, count_tokens=False)
    return unlabelled

