"""Which check a finding gets: the registry looked up by a rule's provider or id."""
from __future__ import annotations

import importlib
import re

from .model import Check, Verifier
from .registry import BY_ALIAS, BY_NAME, REGISTRY

_PACKAGE = __name__.rsplit(".", 1)[0]

# rules whose keys no verifier may be handed, and why: the provider's module would send them where
# they do not belong (an OAuth token as an API key) and read a wrong "invalid" from the answer
NO_LIVE_CHECK: dict[str, str] = {
    "anthropic-oauth-access-token": "no live check: only a paid POST /v1/messages proves a Claude OAuth "
                                    "token, and keyguard never makes it",
    "anthropic-oauth-refresh-token": "no live check: only a token exchange (it mints a new token) proves "
                                     "a Claude OAuth refresh token",
    "google-oauth-client-secret": "no live check: only a POST to Google's token endpoint tests a client secret",
    "google-oauth-client-secret-legacy": "no live check: only a POST to Google's token endpoint tests a "
                                         "client secret",
    "google-oauth-access-token": "no live check: Google's tokeninfo takes the token only in the URL, "
                                 "and keyguard sends keys in headers only",
    "google-oauth-refresh-token": "no live check: only a refresh (a POST that mints a token) proves it",
    "github-oauth-client-secret": "no live check: a client secret is not a token GitHub's API accepts",
    "aws-session-token": "no live check: a session token needs its temporary key id and secret",
    "aws-appsync-api-key": "no live check: an AppSync key is only usable against its own GraphQL endpoint",
    "nvidia-ngc-api-key": "no live check: the provider facts document a check for nvapi- keys only, "
                          "not for legacy NGC keys",
    "shared-sk-hex32-key": "no live check: the shape is DeepSeek's and Qwen/DashScope's, and a key goes "
                           "only to the vendor its context names (name it, e.g. DEEPSEEK_API_KEY)",
    "shared-sk-48-key": "no live check: the shape is Stability AI's and Moonshot's, and a key goes only "
                        "to the vendor its context names (name it, e.g. STABILITY_API_KEY)",
    # providers with no documented free GET that tells a bad key apart (the provider facts file)
    "jina-api-key": "no live check: Jina's only known GET (Jina Cloud's flows) may not answer for "
                    "Search Foundation keys, and no balance GET is documented",
    "ollama-api-key": "no live check: ollama.com documents no call whose answer tells a bad key apart",
    "runpod-api-key": "no live check: Runpod's account check is a GraphQL POST, and its REST GET is "
                      "not documented well enough to read",
    "modal-token-secret": "no live check: Modal's API is gRPC (a POST); no GET is known",
    "wandb-api-key": "no live check: the W&B API is GraphQL (a POST); no GET is known",
    "wandb-legacy-api-key": "no live check: the W&B API is GraphQL (a POST); no GET is known",
    "zai-api-key": "no live check: Z.ai's only known check is a POST to its tokenizer",
    "helicone-api-key": "no live check: Helicone documents no key check",
    "litellm-proxy-key": "no live check: a LiteLLM proxy has no fixed host, and keyguard sends a key "
                         "only to its provider's own fixed https host",
    "greptile-api-key": "no live check: Greptile documents no free GET to check a key with",
    "lighton-api-key": "no live check: LightOn documents no free GET to check a key with",
    "upstage-api-key": "no live check: Upstage documents no free GET to check a key with",
    # providers the facts file has no entry for: a peer's GET alone gives no answer to read by
    "cartesia-api-key": "no live check: the provider facts file names no Cartesia check, and the "
                        "answers of its voice list (a peer's GET) are not sourced",
    "friendli-personal-access-token": "no live check: the provider facts file names no FriendliAI "
                                      "check; a peer's GET is a beta endpoint list whose answers are "
                                      "not sourced",
    "ai21-api-key": "no live check: the provider facts file names no AI21 check, and the answers of "
                    "its library-files list (a peer's GET) are not sourced",
    "clarifai-api-key": "no live check: the provider facts file names no Clarifai check; a peer reads "
                        "a status code in the body of its models list, and the bad-key code is not "
                        "sourced",
}


def names() -> tuple[str, ...]:
    """Every check in the docs table, in the registry's order."""
    return tuple(e.name for e in REGISTRY if e.listed)


def check_of(name: str) -> Check:
    """What a check declares: a data row's derived ``Check``, or a module's ``CHECK``."""
    row = BY_NAME[name].row
    if row is not None:
        return row.check
    return importlib.import_module(f"{_PACKAGE}.{name}").CHECK  # type: ignore[no-any-return]


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def module_for(provider: str, rule_id: str) -> str | None:
    """The check for a rule, by its provider, else by its rule id's leading words; None for the
    rules in ``NO_LIVE_CHECK``."""
    if rule_id in NO_LIVE_CHECK:
        return None
    found = BY_ALIAS.get(_norm(provider))
    if found is None:
        words = rule_id.lower().split("-")
        for n in range(len(words), 0, -1):
            found = BY_ALIAS.get(_norm("".join(words[:n])))
            if found:
                break
    return found


def verifier_for(provider: str, rule_id: str) -> Verifier | None:
    name = module_for(provider, rule_id)
    if name is None:
        return None
    row = BY_NAME[name].row
    if row is not None:
        return row.verify
    module = importlib.import_module(f"{_PACKAGE}.{name}")
    return module.verify  # type: ignore[no-any-return]
