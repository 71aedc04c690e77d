"""The 2026 key shapes: each found whole, by its own rule, in the files that hold it."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from keyguard.detect.engine import Engine
from keyguard.model import ScanText, Stats
from keyguard.ruleset import load_rules

from ..factories import SHAPED, adc_file, github_installation_jwt, key_for, ngc_key
from ..helpers import scan_json, write

RULES = {r.id: r for r in load_rules()}
ENGINE = Engine(list(RULES.values()))


def found(text: str, path: str = "config.txt") -> list[tuple[str, str]]:
    return [(f.rule.id, f.secret) for f in ENGINE.scan(ScanText(text, path), Stats())]


def test_adc_authorized_user_file_yields_its_refresh_token_and_client_secret(tmp_path: Path) -> None:
    text = adc_file(random.Random(3))
    write(tmp_path / ".config" / "gcloud" / "application_default_credentials.json", text)
    code, findings = scan_json(tmp_path, ".")
    assert code == 1
    by_rule = {f["rule_id"]: f for f in findings}
    assert set(by_rule) == {"google-oauth-refresh-token", "google-oauth-client-secret"}
    lines = text.splitlines()
    assert '"refresh_token"' in lines[by_rule["google-oauth-refresh-token"]["line"] - 1]


def test_github_installation_token_jwt_form_is_found_whole() -> None:
    token = github_installation_jwt(random.Random(5))
    assert len(token) > 400 and token.count(".") == 2
    assert found(f"GH_TOKEN={token}\n") == [("github-installation-token", token)]
    # a sentence's full stop is not part of the token
    assert found(f"the token was {token}.\n") == [("github-installation-token", token)]
    # a JWT cut short is neither a JWT-form token nor a classic one (its header is 36 characters)
    assert found(f"it looks like `{token[:170]}...`\n") == []


def test_github_refresh_token_of_76_characters_is_found_whole() -> None:
    token = SHAPED["github-refresh-token"](random.Random(1))
    assert len(token) == 80
    assert found(f'"refresh_token": "{token}"\n') == [("github-refresh-token", token)]


def test_legacy_ngc_key_next_to_its_registry() -> None:
    key = ngc_key(random.Random(2))
    assert found(f"docker login nvcr.io -u '$oauthtoken' -p {key}\n") == [("nvidia-ngc-api-key", key)]
    assert found(f"checksum: {key}\n") == []  # no NGC name nearby


@pytest.mark.parametrize("name", ["proj", "svcacct", "mybot-prod"])
def test_openai_keys_with_20_character_halves(name: str) -> None:
    rnd = random.Random(len(name))
    half = lambda: "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(20))
    key = f"sk-{name}-{half()}T3BlbkFJ{half()}"
    assert found(f"OPENAI_API_KEY={key}\n") == [("openai-named-key", key)]


def test_each_openai_key_is_reported_once_by_one_rule() -> None:
    for rid in ("openai-project-key", "openai-service-account-key", "openai-user-key", "openai-none-key",
                "openai-named-key"):
        key = key_for(RULES[rid], 9)
        assert found(f"OPENAI_API_KEY={key}\n") == [(rid, key)], rid


def test_xai_management_key_is_not_also_an_api_key() -> None:
    key = key_for(RULES["xai-management-key"], 4)
    assert found(f"XAI_KEY={key}\n") == [("xai-management-key", key)]


def test_claude_oauth_tokens_in_credentials_file() -> None:
    access = key_for(RULES["anthropic-oauth-access-token"], 1)
    refresh = key_for(RULES["anthropic-oauth-refresh-token"], 2)
    text = ('{"claudeAiOauth": {"accessToken": "%s", "refreshToken": "%s", '
            '"expiresAt": 1767225600000, "subscriptionType": "max"}}\n' % (access, refresh))
    assert sorted(found(text, ".claude/.credentials.json")) == sorted(
        [("anthropic-oauth-access-token", access), ("anthropic-oauth-refresh-token", refresh)])


@pytest.mark.parametrize("line, rule_id", [
    ("aws.secretKey={k}", "aws-secret-access-key"),
    ("STABILITY_TOKEN={k}", "stability-api-key"),
    ("cohere_api_token: {k}", "cohere-api-key"),
    ("PINECONE_TOKEN={k}", "pinecone-legacy-key"),
    ("TOGETHER_API_TOKEN={k}", "together-legacy-key"),
    ("cohere secret key = {k}", "cohere-api-key"),
    ("cohere token = '{k}'", "cohere-api-key"),
    ('zai_token = "{k}"', "zai-api-key"),
    ('AWSSecret_token = "{k}"', "aws-secret-access-key"),
])
def test_wider_context_words(line: str, rule_id: str) -> None:
    key = key_for(RULES[rule_id], 11)
    assert found(line.format(k=key) + "\n") == [(rule_id, key)]


def test_providers_without_a_sourced_shape_have_no_rule_and_say_so() -> None:
    from keyguard.ruleset import builtin_rules_dir

    note = (builtin_rules_dir() / "no-shape.yml").read_text()
    for provider in ("Baseten", "SambaNova", "Hyperbolic", "Novita", "Writer", "Portkey"):
        assert provider in note
        assert provider.lower() not in {r.provider for r in RULES.values()}


def test_at_least_45_ai_providers() -> None:
    assert len({r.provider for r in RULES.values()} - {"generic"}) >= 45


def test_new_shapes_no_verifier_may_misread_say_so_and_send_nothing(tmp_path: Path) -> None:
    """A Claude OAuth token is not an API key, a client secret not a token: with --verify they get
    an honest "no live check" and no request (KEYGUARD_ENDPOINTS lists no host, so any request
    would fail the scan)."""
    import json
    import os
    import subprocess
    import sys

    from keyguard.verify import NO_LIVE_CHECK, module_for

    for rid, why in NO_LIVE_CHECK.items():
        assert rid in RULES, rid
        assert module_for(RULES[rid].provider, rid) is None
        # each says why there is none, not that one may come
        assert why.startswith("no live check: ") and " yet" not in why, (rid, why)
    # every provider rule has a check, or the reason it has none
    unexplained = [rid for rid, r in RULES.items() if r.provider != "generic"
                   and module_for(r.provider, rid) is None and rid not in NO_LIVE_CHECK]
    assert unexplained == []
    oauth = key_for(RULES["anthropic-oauth-access-token"], 3)
    secret = key_for(RULES["github-oauth-client-secret"], 3)
    write(tmp_path / ".env", f"CLAUDE_CODE_OAUTH_TOKEN={oauth}\nGITHUB_CLIENT_SECRET={secret}\n")
    env = {**os.environ, "KEYGUARD_ENDPOINTS": "api.example.invalid=http://127.0.0.1:9"}
    r = subprocess.run([sys.executable, "-m", "keyguard", "scan", ".", "--verify", "--format", "json", "--no-config"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 1, r.stderr
    findings = json.loads(r.stdout)["findings"]
    assert {f["rule_id"]: f["verification"]["status"] for f in findings} == {
        "anthropic-oauth-access-token": "unknown", "github-oauth-client-secret": "unknown"}
    claude = next(f for f in findings if f["rule_id"] == "anthropic-oauth-access-token")
    assert "POST /v1/messages" in claude["verification"]["reasons"][0]
    assert claude["severity"] == "high"


def _pem(seed: int) -> str:
    import base64

    body = base64.b64encode(b"\x30\x82\x04\xbd" + random.Random(seed).randbytes(1212)).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"


def _sa_found(text: str, path: str) -> list[str]:
    return [s for rid, s in found(text, path) if rid == "google-service-account-key"]


def test_service_account_key_in_escaped_json_inside_a_string() -> None:
    import json

    info = {"type": "service_account", "project_id": "acme-1", "private_key": _pem(1),
            "client_email": "ci@acme-1.iam.gserviceaccount.com"}
    text = f"GOOGLE_CREDENTIALS = {json.dumps(json.dumps(info))}\n"  # JSON inside a Python string
    [secret] = _sa_found(text, "settings.py")
    assert secret.startswith("-----BEGIN PRIVATE KEY-----\\\\n") and secret.endswith("-----END PRIVATE KEY-----")


def test_service_account_key_in_an_env_variable_and_a_js_object() -> None:
    pem = _pem(2)
    escaped = pem.replace("\n", "\\n")
    env = f"GOOGLE_CLIENT_EMAIL=ci@acme-2.iam.gserviceaccount.com\nGOOGLE_PRIVATE_KEY=\"{escaped}\"\n"
    assert _sa_found(env, ".env") == [escaped]
    js = ("export const serviceAccount = {\n  type: 'service_account',\n"
          f"  privateKey: `{pem}`,\n  clientEmail: 'ci@acme-2.iam.gserviceaccount.com',\n}};\n")
    assert _sa_found(js, "firebase-admin.js") == [pem.rstrip("\n")]


def test_a_private_key_with_no_service_account_word_is_not_a_google_key() -> None:
    pem = _pem(3).replace("\n", "\\n")
    assert _sa_found(f'TLS_PRIVATE_KEY="{pem}"\nTLS_CERT_PATH=/etc/ssl/site.crt\n', ".env") == []


def test_context_words_stay_words() -> None:
    """"cohere" only as a name ("cohere_", "cohere token"), not in prose or in "coherent"; an AWS
    policy name (AWSSecretsManager...) is not an AWS secret's name."""
    key = key_for(RULES["cohere-api-key"], 12)
    assert found(f"cohere keyword is not close to the real key in the data\n = '{key}'\n") == []
    assert found(f'coherent_digest = "{key}"\n') == []
    aws = key_for(RULES["aws-secret-access-key"], 12)
    assert found(f'"AWSSecretsManagerReadWrite": "{aws}"\n') == []


def test_openai_none_key_in_the_long_project_form() -> None:
    rnd = random.Random(5)
    half = lambda: "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
                           for _ in range(74))
    key = f"sk-None-{half()}T3BlbkFJ{half()}"
    assert found(f'OPENAI_API_KEY="{key}"\n') == [("openai-none-key", key)]


def test_legacy_google_client_secret_needs_its_name_and_a_client_id() -> None:
    rnd = random.Random(6)
    secret = SHAPED["google-oauth-client-secret-legacy"](rnd).split(": ")[1]
    client_id = "304167046824-" + "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(32))
    js = f"const CLIENT_ID = '{client_id}.apps.googleusercontent.com';\nconst CLIENT_SECRET = '{secret}';\n"
    assert found(js, "auth.js") == [("google-oauth-client-secret-legacy", secret)]
    # the same value with no Google client id nearby is no Google secret
    assert [r for r, _ in found(f"CLIENT_SECRET = '{secret}'\n", "auth.js")] != ["google-oauth-client-secret-legacy"]


def test_sk_48_key_with_no_provider_named_is_stability_or_moonshot() -> None:
    key = key_for(RULES["shared-sk-48-key"], 7)
    assert found(f"LLM_API_KEY={key}\n") == [("shared-sk-48-key", key)]
    assert found(f"STABILITY_API_KEY={key}\n") == [("stability-api-key", key)]
    assert found(f"MOONSHOT_API_KEY={key}\n") == [("moonshot-api-key", key)]
    legacy_openai = key_for(RULES["openai-user-key"], 7)
    assert found(f"LLM_API_KEY={legacy_openai}\n") == [("openai-user-key", legacy_openai)]


@pytest.mark.parametrize("rule_id, line", [
    ("cartesia-api-key", "CARTESIA_API_KEY={k}"),
    ("friendli-personal-access-token", 'client = Friendli(token="{k}")'),
    ("ai21-api-key", "AI21_API_KEY={k}"),
    ("clarifai-api-key", "CLARIFAI_PAT={k}"),
])
def test_more_ai_providers_found_whole_by_their_own_rule(rule_id: str, line: str) -> None:
    key = key_for(RULES[rule_id], 21)
    assert found(line.format(k=key) + "\n") == [(rule_id, key)]


def test_prefixless_ai21_and_clarifai_keys_need_their_provider_named() -> None:
    uuid_key = key_for(RULES["ai21-api-key"], 22)
    hex_key = key_for(RULES["clarifai-api-key"], 22)
    assert found(f'request_id = "{uuid_key}"\nchecksum = "{hex_key}"\n') == []
    # the provider word below the key counts, as it does above it
    assert found(f'key = "{uuid_key}"\nclient = AI21Client(api_key=key)\n') == [("ai21-api-key", uuid_key)]
    assert found(f'pat = "{hex_key}"  # clarifai\n') == [("clarifai-api-key", hex_key)]


def test_cartesia_admin_key_is_not_read_as_an_api_key() -> None:
    # sk_car_admin_ keys have no sourced length (rules/no-shape.yml): no rule takes them, and the
    # API-key rule does not report their tail
    rnd = random.Random(23)
    tail = "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(22))
    assert [rid for rid, _ in found(f"CARTESIA_ADMIN_KEY=sk_car_admin_{tail}\n")
            if rid.startswith("cartesia")] == []
