"""The access token ``keyguard audit gcp`` reads with: ``KEYGUARD_GCP_ACCESS_TOKEN``, else
google-auth (keyguard's ``gcp`` extra) with a service-account file or Application Default
Credentials, scope ``cloud-platform.read-only``. A key file's ``token_uri`` must be Google's."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..http import ENDPOINTS_VARIABLE
from .model import AuditError

SCOPE = "https://www.googleapis.com/auth/cloud-platform.read-only"
TOKEN_VARIABLE = "KEYGUARD_GCP_ACCESS_TOKEN"
TOKEN_HOSTS = frozenset({"oauth2.googleapis.com", "accounts.google.com"})


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

            info = service_account_info(credentials_file)
            creds: Any = service_account.Credentials.fromservice_account_info(info, scopes=[SCOPE])
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


def service_account_info(path: str) -> dict[str, Any]:
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
