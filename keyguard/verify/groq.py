"""Groq: GET api.groq.com/openai/v1/models (Bearer); then the plan, read from two list GETs.

Groq answers 403 ``permissions_error`` / ``not_available_for_plan`` on /openai/v1/batches and
/openai/v1/files when the organization's plan lacks that feature (the free plan), and lists them
otherwise: a free reading of the plan. Rate-limit headers are organization-level.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Check, Context, Verification
from ._common import bearer, body_json, error_fields, expect_shape, is_html, optional_get, simple_get

if TYPE_CHECKING:
    from ..http import CredentialClient

HOST = "api.groq.com"
PLAN_PROBES = {"batches": "/openai/v1/batches", "files": "/openai/v1/files"}
CHECK = Check(
    provider="Groq",
    requests=(f"GET {HOST}/openai/v1/models", *(f"GET {HOST}{p}" for p in PLAN_PROBES.values())),
    status="200 live; 401 `invalid_api_key` invalid; then batches and files: 200 the plan has "
           "them (a paid plan), 403 `not_available_for_plan` it does not",
    quota=("rate_limit", "plan_features"),
    unknown=("balance", "scope (Groq keys have none documented)"),
)


def verify(secret: str, context: Context, client: CredentialClient) -> Verification:
    v, body = simple_get(client, HOST, "/openai/v1/models", secret, unknown_fields=CHECK.unknown)
    if not expect_shape(v, body, dict, "the model list"):
        return v
    features: dict[str, bool] = {}
    for name, path in PLAN_PROBES.items():
        answer = optional_get(client, HOST, path, bearer(secret))
        if isinstance(answer, str):
            v.unknown.append(f"plan feature {name}: {answer}")
            continue
        said = " ".join(error_fields(body_json(answer), secret).values())
        if answer.status_code == 200 and not is_html(answer):
            features[name] = True
        elif answer.status_code == 403 and "not_available_for_plan" in said:
            features[name] = False
        else:
            v.unknown.append(f"plan feature {name}: the list call answered {answer.status_code}")
    if features:
        v.quota["plan_features"] = features
        v.reasons.append("plan: " + ", ".join(f"{n} {'available' if ok else 'not available'}"
                                              for n, ok in features.items()))
    return v
