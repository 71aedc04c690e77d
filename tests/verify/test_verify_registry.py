"""Rules map to verifiers by their provider field (or rule id), and only to the right one."""
from __future__ import annotations

import pytest

from keyguard.verify import Verification, implied_severity, module_for


@pytest.mark.parametrize("provider,rule_id,module", [
    ("openai", "openai-admin-key", "openai"),
    ("Hugging Face", "hf-token", "huggingface"),
    ("azure-openai", "azure-openai-key", "azure_openai"),
    ("unknown", "azure-openai-api-key", "azure_openai"),
    ("x.ai", "grok", "xai"),
    ("aws", "aws-access-key-id", "aws"),
    ("Amazon Bedrock", "bedrock-api-key", "aws"),
    ("google", "google-service-account", "google"),
    ("stability-ai", "stability-key", "stability"),
    ("langchain", "langsmith-service-key", "langsmith"),
    ("NVIDIA", "nvidia-nim-key", "nvidia"),
    ("generic", "generic-api-key", None),
    ("azure", "azure-storage-account-key", None),  # never sent to Azure OpenAI
])
def test_provider_mapping(provider, rule_id, module):
    assert module_for(provider, rule_id) == module


def test_severity_follows_the_verdict():
    assert implied_severity("high", Verification("invalid")) == "low"
    assert implied_severity("high", Verification("live", severity="critical")) == "critical"
    assert implied_severity("high", Verification("live")) == "high"
    assert implied_severity("critical", Verification("unknown", severity="low")) == "critical"
    assert implied_severity("medium", Verification("error")) == "medium"
