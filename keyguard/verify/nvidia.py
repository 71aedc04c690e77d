"""NVIDIA NGC / NIM: POST api.ngc.nvidia.com/v3/keys/get-caller-info (form body credentials=<key>).

Why this POST is safe: get-caller-info only describes the caller of the given key; it runs no
model and creates or changes nothing. The key travels in the form body, never in the URL.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import Check, Context, Verification
from ._common import interpret, send

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.ngc.nvidia.com"
PATH = "/v3/keys/get-caller-info"
CHECK = Check(
    provider="NVIDIA (NGC / NIM)",
    requests=(f"POST {HOST}{PATH}",),
    status="200 live; 401 invalid",
    quota=("rate_limit",),
    unknown=("services included in the key (reading them from get-caller-info: undocumented)",
             "quota"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    check = f"POST {HOST}{PATH}"
    answer = send(client, "POST", HOST, PATH, data={"credentials": secret},
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    unknown = list(CHECK.unknown)
    if isinstance(answer, Verification):
        answer.check, answer.unknown = check, unknown
        return answer
    return interpret(answer, secret, check, invalid=(401,), unknown_fields=unknown)
