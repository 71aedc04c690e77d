"""LangSmith: personal access tokens (``lsv2_pt_``) GET /api/v1/api-key; service keys
(``lsv2_sk_``) GET /api/v1/orgs/current, the endpoint that answers for them.

A service key may be scoped to the organization, and such keys get 403 on workspace resources
(the key list is one), so a 403 is never read as a dead key: it is ``unknown``. Only ever GET:
a POST to /api/v1/api-key/current creates a new personal access token.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import expect_shape, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.smith.langchain.com"
CHECK = Check(
    provider="LangSmith",
    requests=(f"GET {HOST}/api/v1/api-key", f"GET {HOST}/api/v1/orgs/current"),
    status="personal token (`lsv2_pt_`): `/api/v1/api-key`; service key (`lsv2_sk_`): "
           "`/api/v1/orgs/current`; 200 live; 401 invalid; 403 unknown (an org-scoped service "
           "key is refused workspace resources)",
    quota=("rate_limit",),
    scope=("kind", "organization_id", "organization_name", "personal_org", "workspace_ids"),
    unknown=("quota", "workspace permissions"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    service = secret.startswith("lsv2_sk_")
    path = "/api/v1/orgs/current" if service else "/api/v1/api-key"
    v, body = simple_get(client, HOST, path, secret, headers={"X-API-Key": secret},
                         unknown_fields=CHECK.unknown)
    v.scope["kind"] = ("service key (organization or workspace)" if service
                       else "personal access token (the user's permissions)")
    if v.evidence.get("http_status") == 403 and v.evidence.get("body") != "web page":
        v.reasons = ["403: LangSmith refuses this key the resource (an org-scoped service key is "
                     "refused workspace resources); whether the key is live is unknown"]
    if service and expect_shape(v, body, dict, "the organization object"):
        for field, name in (("id", "organization_id"), ("display_name", "organization_name")):
            if isinstance(body.get(field), str):
                v.scope[name] = body[field][:80]
        if isinstance(body.get("is_personal"), bool):
            v.scope["personal_org"] = body["is_personal"]
    elif not service and expect_shape(v, body, list, "the list of the user's keys"):
        tenants = {k.get("tenant_id") for k in body if isinstance(k, dict)}
        if tenants - {None}:
            v.scope["workspace_ids"] = sorted(str(t) for t in tenants if t)[:10]
    return v
