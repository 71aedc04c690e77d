"""Live checks (``--verify``): is a found key live, how restricted, what quota, what scope.

One small module per provider in this package, each exposing
``verify(secret: str, context: Context, client: CredentialClient) -> Verification``.
``verifier_for`` maps a rule's ``provider`` field (and, failing that, its rule id) to a module,
so exact rule ids matter little. Every call is a metadata call (list models, whoami, key info,
balance) sent by ``keyguard.http.CredentialClient`` to the provider's fixed https host; nothing in
a scanned file can change where a key goes (see ``context.py`` for the two values a file may
supply: an Azure resource name and an AWS secret, both checked by strict patterns).
"""
from __future__ import annotations

import importlib
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..http import CredentialClient

STATUSES = ("live", "invalid", "unknown", "error")


@dataclass
class Context:
    """What a verifier may know besides the secret. Values from files are validated by the reader."""

    rule_id: str
    provider: str
    companions: dict[str, str] = field(default_factory=dict)  # e.g. aws_secret, azure_host
    notes: list[str] = field(default_factory=list)  # why a companion is missing


@dataclass
class Verification:
    """The outcome of one live check. Never holds the key, in whole or in part."""

    status: str  # live | invalid | unknown | error
    check: str = ""  # e.g. "GET api.openai.com/v1/models"
    evidence: dict[str, Any] = field(default_factory=dict)  # http_status, code, reason
    restrictions: dict[str, Any] = field(default_factory=dict)
    quota: dict[str, Any] = field(default_factory=dict)
    scope: dict[str, Any] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # what this check cannot tell
    reasons: list[str] = field(default_factory=list)
    severity: str | None = None  # what the outcome implies; None keeps the rule's severity

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: v for k, v in d.items() if v not in ({}, [], "") or k in ("status",)}


@dataclass(frozen=True)
class Check:
    """What one provider's live check does and can read; each module declares its ``CHECK``.

    docs/live-checks.md is generated from these (``python -m keyguard.verify.table``), and the
    tests hold every verdict to them: ``Verification.check`` is one of ``requests``, the keys a
    verifier puts in ``restrictions``/``quota``/``scope`` are among those declared here, and
    everything in ``unknown`` is listed in every result.
    """

    provider: str  # as shown in the table
    requests: tuple[str, ...]  # each call it may make, exactly as in Verification.check
    status: str  # how the answer tells live from invalid
    restrictions: tuple[str, ...] = ()
    quota: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()  # what this check can never tell
    severity: str = ""  # when a live verdict sets the severity, e.g. "critical: admin key"


class Verifier(Protocol):
    def __call__(self, secret: str, context: Context, client: CredentialClient) -> Verification: ...


# provider (normalised: lower case, letters and digits only) -> module in this package.
# No bare "azure": only Azure *OpenAI* keys may go to <resource>.openai.azure.com.
PROVIDERS: dict[str, str] = {
    "openai": "openai", "anthropic": "anthropic", "google": "google", "gcp": "google",
    "googlegemini": "google_api_key", "gemini": "google_api_key", "firebase": "google_api_key",
    "googleapikey": "google_api_key", "googleserviceaccount": "google_service_account",
    "googlecloud": "google",
    "huggingface": "huggingface", "hf": "huggingface", "groq": "groq", "xai": "xai", "grok": "xai",
    "deepseek": "deepseek", "deepseekai": "deepseek", "openrouter": "openrouter", "replicate": "replicate",
    "together": "together", "togetherai": "together", "perplexity": "perplexity", "perplexityai": "perplexity",
    "fireworks": "fireworks", "fireworksai": "fireworks", "mistral": "mistral",
    "mistralai": "mistral", "cohere": "cohere", "azureopenai": "azure_openai",
    "aws": "aws", "amazon": "aws", "bedrock": "aws", "awsbedrock": "aws", "amazonbedrock": "aws",
    "elevenlabs": "elevenlabs", "stability": "stability", "stabilityai": "stability",
    "voyage": "voyage", "voyageai": "voyage", "langsmith": "langsmith", "langchain": "langsmith",
    "pinecone": "pinecone", "deepgram": "deepgram", "assemblyai": "assemblyai",
    "cerebras": "cerebras", "nvidia": "nvidia", "nvidianim": "nvidia", "nvapi": "nvidia",
    "ngc": "nvidia", "github": "github",
}


# rules whose keys no verifier may be handed, and why: the provider's module would send them where
# they do not belong (an OAuth token as an API key) and read a wrong "invalid" from the answer
NO_LIVE_CHECK: dict[str, str] = {
    "anthropic-oauth-access-token": "no live check: only a paid POST /v1/messages proves a Claude OAuth "
                                    "token, and keyguard never makes it",
    "anthropic-oauth-refresh-token": "no live check: only a token exchange (it mints a new token) proves "
                                     "a Claude OAuth refresh token",
    "google-auth-key": "no live check yet for Google auth keys (AQ.)",
    "google-oauth-client-secret": "no live check: only a POST to Google's token endpoint tests a client secret",
    "google-oauth-access-token": "no live check yet for Google OAuth access tokens",
    "google-oauth-refresh-token": "no live check: only a refresh (a POST that mints a token) proves it",
    "github-oauth-client-secret": "no live check: a client secret is not a token GitHub's API accepts",
    "xai-management-key": "no live check yet for xAI management keys",
    "aws-session-token": "no live check: a session token needs its temporary key id and secret",
    "aws-appsync-api-key": "no live check: an AppSync key is only usable against its own GraphQL endpoint",
    "nvidia-ngc-api-key": "no live check yet for legacy NGC keys",
}


# every verifier module, in the order (the docs table follows it); "google" only dispatches
MODULES: tuple[str, ...] = (
    "openai", "anthropic", "google_api_key", "google_service_account", "huggingface", "groq", "xai",
    "deepseek", "openrouter", "replicate", "together", "perplexity", "fireworks", "mistral", "cohere",
    "azure_openai", "aws", "elevenlabs", "stability", "voyage", "langsmith", "pinecone", "deepgram",
    "assemblyai", "cerebras", "nvidia", "github",
)


def check_of(module: str) -> Check:
    """The declared ``CHECK`` of a verifier module."""
    return importlib.import_module(f"{__name__}.{module}").CHECK  # type: ignore[no-any-return]


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def module_for(provider: str, rule_id: str) -> str | None:
    """The verifier module for a rule, by its provider, else by its rule id's leading words; None
    for the rules in ``NO_LIVE_CHECK``."""
    if rule_id in NO_LIVE_CHECK:
        return None
    found = PROVIDERS.get(_norm(provider))
    if found is None:
        words = rule_id.lower().split("-")
        for n in range(len(words), 0, -1):
            found = PROVIDERS.get(_norm("".join(words[:n])))
            if found:
                break
    return found


def verifier_for(provider: str, rule_id: str) -> Verifier | None:
    name = module_for(provider, rule_id)
    if name is None:
        return None
    module = importlib.import_module(f"{__name__}.{name}")
    return module.verify  # type: ignore[no-any-return]


def implied_severity(rule_severity: str, v: Verification) -> str:
    """The finding's severity once checked: low if invalid, the verifier's word if live."""
    if v.status == "invalid":
        return "low"
    if v.status == "live" and v.severity:
        return v.severity
    return rule_severity


__all__ = ["Check", "Context", "Verification", "Verifier", "verifier_for", "module_for",
           "implied_severity", "STATUSES", "MODULES", "check_of"]
