"""The one list of live checks: which provider names a check answers to, and what it is.

A provider whose check is a single GET is a ``SimpleGet`` row right here; a provider whose check
needs logic names its module (which declares ``CHECK`` and ``verify``). docs/live-checks.md
follows this order. Hosts, headers and answers come from the provider facts file
(shared/docs/providers.md); an answer not listed here is ``unknown``, never ``invalid``.
"""
from __future__ import annotations

from dataclasses import dataclass

from .simple import Answer, Read, SimpleGet

LIVE, INVALID = Answer(200, "live"), Answer(401, "invalid")


@dataclass(frozen=True)
class Entry:
    name: str  # the check's name (a module name when it has logic)
    aliases: tuple[str, ...]  # rule provider names, normalised: lower case, letters and digits
    row: SimpleGet | None = None  # a simple GET; None: keyguard/verify/<name>.py
    listed: bool = True  # in the docs table (False only for a dispatcher)


REGISTRY: tuple[Entry, ...] = (
    Entry("openai", ("openai",)),
    Entry("anthropic", ("anthropic",)),
    Entry("google", ("google", "gcp", "googlecloud"), listed=False),  # AIza key or service account
    Entry("google_api_key", ("googlegemini", "gemini", "firebase", "googleapikey")),
    Entry("google_service_account", ("googleserviceaccount",)),
    Entry("huggingface", ("huggingface", "hf")),
    Entry("groq", ("groq",)),
    Entry("xai", ("xai", "grok")),
    Entry("deepseek", ("deepseek", "deepseekai"), SimpleGet(
        "DeepSeek", "api.deepseek.com", "/user/balance",
        answers=(LIVE, Answer(402, "live", "Insufficient Balance: no money left",
                              sets=(("quota", "insufficient_balance", True),)), INVALID),
        reads=(Read("quota", "is_available", "is_available"),
               Read("quota", "balance", "balance_infos",
                    keep=("currency", "total_balance", "granted_balance", "topped_up_balance"))),
        unknown=("scope (DeepSeek documents none)", "spend limit"))),
    Entry("openrouter", ("openrouter",)),
    Entry("replicate", ("replicate",), SimpleGet(
        "Replicate", "api.replicate.com", "/v1/account",
        reads=(Read("scope", "kind", "type"), Read("scope", "username", "username")),
        unknown=("quota and balance", "permissions"))),
    Entry("together", ("together", "togetherai"), SimpleGet(
        "Together AI", "api.together.xyz", "/v1/models", body=object,
        note="a 403 is not documented by Together: unknown",
        unknown=("quota and balance", "scope"))),
    Entry("perplexity", ("perplexity", "perplexityai")),
    Entry("fireworks", ("fireworks", "fireworksai")),
    Entry("mistral", ("mistral", "mistralai"), SimpleGet(
        "Mistral", "api.mistral.ai", "/v1/models",
        unknown=("restrictions", "quota", "scope"))),
    Entry("cohere", ("cohere",)),
    Entry("azure_openai", ("azureopenai",)),  # no bare "azure": only Azure *OpenAI* keys
    Entry("aws", ("aws", "amazon", "bedrock", "awsbedrock", "amazonbedrock")),
    Entry("elevenlabs", ("elevenlabs",), SimpleGet(
        "ElevenLabs", "api.elevenlabs.io", "/v1/user", auth=("xi-api-key", "{key}"),
        answers=(Answer(200, "live", sets=(("scope", "user_read", True),)),
                 Answer(401, "live", "valid, without the user_read permission", "missing_permissions",
                        (("scope", "user_read", False),)),
                 Answer(401, "invalid", match="invalid_api_key"),
                 Answer(401, "invalid", match="api_key_not_verifiable")),
        reads=tuple(Read("quota", f, f"subscription.{f}") for f in (
            "character_count", "character_limit", "next_character_count_reset_unix", "tier", "status")),
        note="another 401 (e.g. `quota_exceeded`) unknown",
        unknown=("per-key permissions other than user_read (not probed)",))),
    Entry("stability", ("stability", "stabilityai")),
    Entry("voyage", ("voyage", "voyageai"), SimpleGet(
        "Voyage AI", "api.voyageai.com", "/v1/files", body=object,
        answers=(Answer(200, "live", sets=(("scope", "files_access", True),)),
                 Answer(403, "live", "valid, no file permission", sets=(("scope", "files_access", False),)),
                 INVALID),
        unknown=("quota", "scope beyond file access"))),
    Entry("langsmith", ("langsmith", "langchain")),
    Entry("pinecone", ("pinecone",), SimpleGet(
        "Pinecone", "api.pinecone.io", "/indexes", auth=("Api-Key", "{key}"),
        headers=(("X-Pinecone-Api-Version", "2025-10"),),
        answers=(LIVE, Answer(403, "live", "restricted role; observed, undocumented",
                              sets=(("scope", "role", "restricted"),)), INVALID),
        reads=(Read("scope", "indexes", "indexes", count=True),),
        unknown=("quota",))),
    Entry("deepgram", ("deepgram",)),
    Entry("assemblyai", ("assemblyai",), SimpleGet(
        "AssemblyAI", "api.assemblyai.com", "/v2/transcript?limit=1", auth=("Authorization", "{key}"),
        unknown=("quota", "scope"))),
    Entry("cerebras", ("cerebras",), SimpleGet(
        "Cerebras", "api.cerebras.ai", "/v1/models",
        note="a 403 is not documented by Cerebras: unknown",
        unknown=("whether the rate limits are per key or per organization", "scope"))),
    Entry("nvidia", ("nvidia", "nvidianim", "nvapi", "ngc")),
    Entry("github", ("github",)),
    Entry("tavily", ("tavily",), SimpleGet(
        "Tavily", "api.tavily.com", "/usage",
        answers=(LIVE, Answer(401, "unknown", "Tavily does not document its bad-key answer")),
        reads=(Read("quota", "key_usage", "key.usage"), Read("quota", "key_limit", "key.limit"),
               Read("quota", "plan", "account.current_plan"),
               Read("quota", "plan_usage", "account.plan_usage"),
               Read("quota", "plan_limit", "account.plan_limit")),
        unknown=("whether a rejected key is dead (the bad-key answer is undocumented)",
                 "scope (Tavily documents none)"))),
)

# the 2026 providers whose facts name a free GET (../shared/docs/providers.md)
REGISTRY += (
    Entry("moonshot", ("moonshot", "kimi", "moonshotai"), SimpleGet(
        "Moonshot (Kimi)", "api.moonshot.ai", "/v1/models", body=object, requires="data",
        answers=(LIVE, Answer(401, "unknown", "refused on api.moonshot.ai; a key of the China "
                                              "platform (api.moonshot.cn) is not asked there")),
        unknown=("whether a refused key lives on api.moonshot.cn", "balance (a second GET, not made)",
                 "scope"))),
    Entry("minimax", ("minimax",), SimpleGet(
        "MiniMax", "api.minimax.io", "/v1/models", body=object, requires="data",
        error_code="base_resp.status_code",
        note="a 403 is not documented by MiniMax: unknown; a 200 needs `data` and no nonzero "
             "`base_resp.status_code`, else unknown",
        unknown=("quota and balance", "scope", "which of the two key shapes is current"))),
    Entry("dashscope", ("dashscope", "qwen", "alibabamodelstudio"), SimpleGet(
        "Qwen / DashScope", "dashscope-intl.aliyuncs.com", "/compatible-mode/v1/models", body=object,
        requires="data",
        answers=(LIVE, Answer(401, "unknown", "refused on the international host; keys are "
                                              "region-bound and a Beijing key is not asked there")),
        unknown=("whether a refused key lives in another region (Beijing host unknown)",
                 "quota and balance", "scope"))),
    Entry("vercel", ("vercel", "vercelaigateway"), SimpleGet(
        "Vercel AI Gateway", "ai-gateway.vercel.sh", "/v1/credits",
        answers=(LIVE, Answer(401, "unknown", "Vercel does not document its bad-key answer")),
        reads=(Read("quota", "balance", "balance"), Read("quota", "total_used", "total_used")),
        unknown=("whether a refused key is dead (the bad-key answer is undocumented)",
                 "the key's own budget", "scope"))),
    Entry("cursor", ("cursor",)),
    Entry("langfuse", ("langfuse",)),
    Entry("devin", ("devin", "cognition")),
    Entry("firecrawl", ("firecrawl",), SimpleGet(
        "Firecrawl", "api.firecrawl.dev", "/v2/team/credit-usage",
        answers=(LIVE, Answer(401, "unknown", "Firecrawl's bad-key answer is not in the facts file")),
        reads=(Read("quota", "remaining_credits", "data.remainingCredits"),
               Read("quota", "plan_credits", "data.planCredits")),
        unknown=("whether a refused key is dead (the bad-key answer is not documented there)", "scope"))),
)

BY_NAME = {e.name: e for e in REGISTRY}
BY_ALIAS = {alias: e.name for e in REGISTRY for alias in e.aliases}
