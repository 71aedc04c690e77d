"""Azure OpenAI: GET https://<resource>.openai.azure.com/openai/models?api-version=2024-10-21.

The resource host is the one value a scanned file chooses, so it is held to a strict pattern:
a single DNS label followed by the fixed suffix ``.openai.azure.com``. Why that is still safe:
the suffix is Microsoft's domain, so the key can only reach an Azure OpenAI resource behind
Microsoft's front door — never an arbitrary server — and the host is only taken from the same
file, near the key, so whoever could plant a host there could already read the key. The key
goes in the ``api-key`` header, not the URL; redirects are not followed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import re

from .model import Check, Context, Verification
from ._common import simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

SUFFIX = ".openai.azure.com"
RESOURCE_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\.openai\.azure\.com")
PATH = "/openai/models?api-version=2024-10-21"
CHECK = Check(
    provider="Azure OpenAI",
    requests=("GET <resource>.openai.azure.com/openai/models",),
    status="200 live; 401 invalid; 403 Virtual Network/Firewall unknown (network restriction); "
           "no `<resource>.openai.azure.com` host near the key unknown (nothing sent)",
    restrictions=("network",),
    quota=("rate_limit",),
    scope=("resource",),
    unknown=("quota (rate-limit headers come on inference calls only)", "scope"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    host = context.companions.get("azure_host", "").lower()
    if not RESOURCE_HOST.fullmatch(host):
        return Verification("unknown", CHECK.requests[0],
                            unknown=[*CHECK.unknown,
                                     "liveness: no <name>.openai.azure.com host near the key"],
                            reasons=["no Azure OpenAI resource host in the same file near the key: "
                                     "not checked"])
    v, _ = simple_get(client, host, PATH, secret, headers={"api-key": secret}, invalid=(401,),
                      unknown_fields=CHECK.unknown)
    v.check = CHECK.requests[0]  # the resource name is in scope
    v.scope["resource"] = host.removesuffix(SUFFIX)
    if v.evidence.get("http_status") == 403:
        reason = v.evidence.get("reason", "")
        if "Virtual Network" in reason or "Firewall" in reason:
            v.restrictions["network"] = "restricted"
            v.reasons = ["403 Virtual Network/Firewall: the resource only accepts listed networks; "
                         "whether the key is live is unknown"]
    return v
