"""Context after the key and in the file's path; shapes two providers share."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from keyguard.detect.engine import Engine
from keyguard.model import ScanText, Stats
from keyguard.ruleset import load_rules

from ..factories import key_for
from ..helpers import scan_json, write

RULES = {r.id: r for r in load_rules()}
ENGINE = Engine(list(RULES.values()))


def found(text: str, path: str = "config.txt") -> list[tuple[str, str]]:
    return [(f.rule.id, f.secret) for f in ENGINE.scan(ScanText(text, path), Stats())]


def test_azure_endpoint_one_or_two_lines_below_the_key() -> None:
    key = key_for(RULES["azure-openai-key"], 1)
    for gap in ("", "# the deployment\n"):
        text = f'api_key = "{key}"\n{gap}endpoint = "https://acme-east.openai.azure.com/"\n'
        assert found(text) == [("azure-openai-key", key)], gap
    far = f'api_key = "{key}"\n' + "x = 1\n" * 6 + 'endpoint = "https://acme-east.openai.azure.com/"\n'
    assert found(far) == []  # beyond the rule's reach below, as it would be above


def test_a_folder_named_after_the_provider_is_context(tmp_path: Path) -> None:
    key = key_for(RULES["mistral-api-key"], 2)
    write(tmp_path / "mistral" / "client.py", f'API_KEY = "{key}"\n')  # no keyword: the gate must let it in
    write(tmp_path / "mistral" / "ids.py", f'MODEL_HASH = "{key_for(RULES["mistral-api-key"], 3)}"\n')
    write(tmp_path / "other" / "client.py", f'API_KEY = "{key_for(RULES["mistral-api-key"], 4)}"\n')
    code, findings = scan_json(tmp_path, ".", "--no-config")
    assert code == 1
    # only the value assigned to a credential's name, only where the path names the provider
    assert [f["path"] for f in findings if f["rule_id"] == "mistral-api-key"] == ["mistral/client.py"]
    assert {f["path"] for f in findings} == {"mistral/client.py", "other/client.py"}  # there: the generic rule


def test_sk_32_hex_with_no_provider_word_is_reported_naming_both(tmp_path: Path) -> None:
    key = key_for(RULES["shared-sk-hex32-key"], 5)
    assert found(f"LLM_API_KEY={key}\n") == [("shared-sk-hex32-key", key)]
    assert found(f"DEEPSEEK_API_KEY={key}\n") == [("deepseek-api-key", key)]
    assert found(f"DASHSCOPE_API_KEY={key}\n") == [("dashscope-api-key", key)]
    rule = RULES["shared-sk-hex32-key"]
    assert rule.confidence == "medium" and "DeepSeek" in rule.name and "DashScope" in rule.name

    write(tmp_path / "app.env", f"LLM_API_KEY={key}\n")
    env = {**os.environ, "KEYGUARD_ENDPOINTS": "api.example.invalid=http://127.0.0.1:9"}
    r = subprocess.run([sys.executable, "-m", "keyguard", "scan", ".", "--verify", "--format", "json", "--no-config"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 1, r.stderr
    [f] = json.loads(r.stdout)["findings"]
    assert (f["provider"], f["verification"]["status"]) == ("deepseek-or-dashscope", "unknown")
    assert "only to the vendor its context names" in f["verification"]["reasons"][0]


def test_base64_value_with_its_name_below() -> None:
    import base64

    key = key_for(RULES["deepgram-api-key"], 6)
    b64 = base64.b64encode(key.encode()).decode()
    text = f"data:\n  token: {b64}\n# DEEPGRAM_API_KEY for the transcriber\n"
    assert [rid for rid, _ in found(text, "secret.yaml")] == ["deepgram-api-key"]
