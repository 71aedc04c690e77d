"""Helpers for the live-check tests: fake keys by format, a client bound to a stand-in."""
from __future__ import annotations

from keyguard.http import CredentialClient
from keyguard.verify import Context, Verification, check_of, module_for, verifier_for

from .factories import random_match
from .standin import StandIn

# Formats from ../shared/docs/providers.md, for providers whose rules live on other branches.
FORMATS = {
    "openai": r"sk-proj-[A-Za-z0-9]{58}T3BlbkFJ[A-Za-z0-9]{58}",
    "openai-admin": r"sk-admin-[A-Za-z0-9]{58}T3BlbkFJ[A-Za-z0-9]{58}",
    "anthropic": r"sk-ant-api03-[a-zA-Z0-9]{93}AA",
    "anthropic-admin": r"sk-ant-admin01-[a-zA-Z0-9]{93}AA",
    "google": r"AIzaSy[A-Za-z0-9]{33}",
    "huggingface": r"hf_[a-zA-Z]{34}",
    "groq": r"gsk_[a-zA-Z0-9]{52}",
    "xai": r"xai-[0-9a-zA-Z]{80}",
    "deepseek": r"sk-[a-f0-9]{32}",
    "openrouter": r"sk-or-v1-[0-9a-f]{64}",
    "replicate": r"r8_[0-9A-Za-z]{37}",
    "together": r"tgp_v1_[A-Za-z0-9]{43}",
    "perplexity": r"pplx-[a-zA-Z0-9]{48}",
    "fireworks": r"fw_[A-Za-z0-9]{40}",
    "mistral": r"[A-Za-z0-9]{32}",
    "cohere": r"[a-zA-Z0-9]{40}",
    "azure-openai": r"[a-f0-9]{32}",
    "elevenlabs": r"sk_[a-f0-9]{48}",
    "stability": r"sk-[A-Za-z0-9]{48}",
    "voyage": r"pa-[a-zA-Z0-9]{43}",
    "langsmith": r"lsv2_pt_[a-f0-9]{32}_[a-f0-9]{10}",
    "langsmith-sk": r"lsv2_sk_[a-f0-9]{32}_[a-f0-9]{10}",
    "pinecone": r"pcsk_[A-Za-z0-9]{6}_[A-Za-z0-9]{63}",
    "deepgram": r"[0-9a-z]{40}",
    "assemblyai": r"[a-z0-9]{32}",
    "cerebras": r"csk-[a-z0-9]{48}",
    "nvidia": r"nvapi-[a-zA-Z0-9]{64}",
    "github": r"ghp_[0-9a-zA-Z]{36}",
    "tavily": r"tvly-[a-zA-Z0-9]{32}",
    "aws-id": r"AKIA[A-Z2-7]{16}",
    "aws-secret": r"[A-Za-z0-9+/]{40}",
}


def fake(kind: str, seed: int = 1) -> str:
    return random_match(FORMATS[kind], seed)


def client_for(server: StandIn, *hosts: str, timeout: float = 0.5) -> CredentialClient:
    return CredentialClient({h: server.url for h in hosts}, timeout=(1.0, timeout), min_interval=0)


def check(provider: str, secret: str, client: CredentialClient, rule_id: str = "",
          **companions: str) -> Verification:
    """Run a provider's verifier; every verdict is held to what its module's CHECK declares."""
    rule_id = rule_id or f"{provider}-api-key"
    verifier = verifier_for(provider, rule_id)
    assert verifier is not None
    v = verifier(secret, Context(rule_id, provider, dict(companions)), client)
    module = module_for(provider, rule_id)
    if module == "google":
        module = "google_api_key" if secret.startswith(("AIza", "AQ.")) else "google_service_account"
    assert_conforms(module, v)
    return v


def assert_conforms(module: str, v: Verification) -> None:
    """The verdict says only what docs/live-checks.md (made from ``CHECK``) says it can."""
    declared = check_of(module)
    assert v.status in ("live", "invalid", "unknown", "error")
    assert v.check in (*declared.requests, ""), (module, v.check)
    for name in ("restrictions", "quota", "scope"):
        extra = set(getattr(v, name)) - set(getattr(declared, name))
        assert not extra, f"{module}: {name} fields {extra} not declared in CHECK"
    missing = set(declared.unknown) - set(v.unknown)
    assert not missing, f"{module}: declared unknowns {missing} missing from the result"
    assert v.reasons, f"{module}: a verdict without reasons"
    if v.severity is not None:
        assert v.severity in declared.severity, f"{module}: severity {v.severity} not declared"


def no_key_in_urls(server: StandIn, secret: str) -> bool:
    return all(secret not in r.path for r in server.requests)
