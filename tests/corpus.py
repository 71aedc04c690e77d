"""A test corpus built at run time: one format-true key per rule in realistic files, plus look-alikes.

``build_corpus(root, rules, seed)`` writes, for every provider rule, a small project directory
(neutral name: ``project-NN``) holding the rule's key in a ``.env`` file, a Kubernetes YAML
manifest, a JSON config, a Python module and a JS module, and look-alikes that must not be
reported: placeholders, sequential filler, truncated and redacted forms, template references,
the key inside a longer token, and (for keys with no prefix) a key-shaped value with no context
word. It returns what it planted, with exact lines, so tests/ruleset/test_corpus.py and
bench/compare_corpus.py judge scanners by the same answer key. Keys are never written anywhere
else; callers compare by file, line and SHA-256.
"""
from __future__ import annotations

import base64
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

from keyguard.model import Rule

from .factories import key_for

FORMATS = ("env", "yaml", "json", "py", "js")

# the variable a project would keep each key in (by rule id, then by provider)
VARIABLES = {
    "openai-admin-key": "OPENAI_ADMIN_KEY",
    "anthropic-admin-key": "ANTHROPIC_ADMIN_KEY",
    "google-api-key": "GEMINI_API_KEY",
    "huggingface-token": "HF_TOKEN",
    "huggingface-org-token": "HUGGINGFACEHUB_API_TOKEN",
    "replicate-api-token": "REPLICATE_API_TOKEN",
    "aws-access-key-id": "AWS_ACCESS_KEY_ID",
    "aws-temporary-access-key-id": "AWS_ACCESS_KEY_ID",
    "aws-secret-access-key": "AWS_SECRET_ACCESS_KEY",
    "aws-bedrock-api-key": "AWS_BEARER_TOKEN_BEDROCK",
    "aws-bedrock-short-term-key": "AWS_BEARER_TOKEN_BEDROCK",
    "langsmith-service-key": "LANGSMITH_API_KEY",
    "langsmith-personal-access-token": "LANGSMITH_API_KEY",
    "shared-sk-hex32-key": "LLM_API_KEY",  # no provider named: that is the point of the rule
    "shared-sk-48-key": "LLM_API_KEY",
}
PROVIDER_VARIABLES = {
    "github": "GITHUB_TOKEN",
    "azure-openai": "AZURE_OPENAI_API_KEY",
}
SERVICE_ACCOUNT_RULE = "google-service-account-key"


@dataclass(frozen=True)
class Planted:
    path: str  # relative to the corpus root, "/"-separated
    line: int  # 1-based line of the secret
    secret: str
    rule_id: str
    provider: str
    fmt: str
    last_line: int = 0  # the credential spans line..last_line (a service-account JSON file)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.secret.encode()).hexdigest()

    def covers(self, line: int) -> bool:
        return self.line <= line <= max(self.line, self.last_line)


@dataclass(frozen=True)
class LookAlike:
    path: str
    line: int
    kind: str
    rule_id: str
    provider: str
    value: str  # the look-alike text, to check that it is key-shaped where it should be


@dataclass
class Corpus:
    planted: list[Planted]
    lookalikes: list[LookAlike]
    providers: dict[str, str]  # project directory -> provider (never written into the files)


def variable_for(rule: Rule) -> str:
    name = VARIABLES.get(rule.id) or PROVIDER_VARIABLES.get(rule.provider)
    if not name:
        name = rule.provider.upper().replace("-", "_").replace(".", "_") + "_API_KEY"
    if rule.context and not any(c.lower() in name.lower() for c in rule.context):
        word = rule.context[0].upper().replace(".", "_").replace("-", "_").strip("_")
        name = word if word.endswith(("KEY", "TOKEN")) else word + "_API_KEY"
    return name


def secret_of(rule: Rule, match: str) -> str:
    m = rule.compiled.fullmatch(match)
    if m is None:  # pragma: no cover - the factory builds full matches
        raise ValueError(f"{rule.id}: factory key does not match its own rule")
    return m.group("secret") if "secret" in rule.compiled.groupindex else match


def _leading_literal(rule: Rule) -> str:
    """The literal characters the rule's regex starts with ("sk-", "" for "[a-f0-9]{32}")."""
    out = []
    for op, av in sre_parse.parse(rule.regex):
        if op != sre_c.LITERAL:
            break
        out.append(chr(av))
    return "".join(out)


def _prefix(rule: Rule, key: str) -> str:
    """The rule's literal prefix at the start of ``key`` ("" for keys with no prefix)."""
    found = [k for k in rule.keywords if key.startswith(k) and k not in rule.context]
    found.append(_leading_literal(rule))
    return max(found, key=len)


# -- realistic files ---------------------------------------------------------------------------
# Each writer gets [(variable, value)] and returns (lines, {entry index: line number}).

def _env(entries: list[tuple[str, str]]) -> tuple[list[str], dict[int, int]]:
    lines = ["# api service settings", "LOG_LEVEL=info", "PORT=8080"]
    where = {}
    for i, (var, value) in enumerate(entries):
        lines.append(f"{var}={value}")
        where[i] = len(lines)
    lines.append("FEATURE_FLAGS=search,export")
    return lines, where


def _yaml(entries: list[tuple[str, str]]) -> tuple[list[str], dict[int, int]]:
    lines = [
        "apiVersion: apps/v1", "kind: Deployment", "metadata:", "  name: api", "spec:",
        "  replicas: 2", "  template:", "    spec:", "      containers:", "        - name: api",
        "          image: registry.example.com/acme/api:1.4.2", "          env:",
        "            - name: LOG_LEVEL", '              value: "info"',
    ]
    where = {}
    for i, (var, value) in enumerate(entries):
        lines += [f"            - name: {var}", f'              value: "{value}"']
        where[i] = len(lines)
    lines += ["          ports:", "            - containerPort: 8080"]
    return lines, where


def _json(entries: list[tuple[str, str]]) -> tuple[list[str], dict[int, int]]:
    lines = ["{", '  "name": "acme-api",', '  "version": "1.4.2",', '  "env": {', '    "LOG_LEVEL": "info",']
    where = {}
    for i, (var, value) in enumerate(entries):
        comma = "," if i < len(entries) - 1 else ""
        lines.append(f"    {json.dumps(var)}: {json.dumps(value)}{comma}")
        where[i] = len(lines)
    lines += ["  },", '  "port": 8080', "}"]
    return lines, where


def _py(entries: list[tuple[str, str]]) -> tuple[list[str], dict[int, int]]:
    lines = ['"""Client set-up for the api service."""', "import os", "", "from acme.llm import Client", ""]
    where = {}
    for i, (var, value) in enumerate(entries):
        lines.append(f"{var} = {json.dumps(value)}")
        where[i] = len(lines)
    first = entries[-1][0]
    lines += ["", f"client = Client(api_key={first}, timeout=30)", ""]
    return lines, where


def _js(entries: list[tuple[str, str]]) -> tuple[list[str], dict[int, int]]:
    lines = ['import { Client } from "@acme/llm";', "", "export const config = {", '  region: "us-east-1",']
    where = {}
    for i, (var, value) in enumerate(entries):
        lines.append(f"  {var}: process.env.{var} || {json.dumps(value)},")
        where[i] = len(lines)
    lines += ["};", "", "export const client = new Client(config);", ""]
    return lines, where


WRITERS = {"env": (".env", _env), "yaml": ("deploy.yaml", _yaml), "json": ("settings.json", _json),
           "py": ("client.py", _py), "js": ("client.js", _js)}


def _write(root: Path, rel: str, lines: list[str]) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _service_account(rnd: random.Random) -> tuple[dict, str]:
    """A service-account key file's fields; the private key is random base64, not a real key."""
    body = base64.b64encode(b"\x30\x82\x04\xbd" + rnd.randbytes(1212)).decode()
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    pem += "\n-----END PRIVATE KEY-----\n"
    project = f"acme-prod-{rnd.randrange(100, 999)}"
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "".join(rnd.choice("0123456789abcdef") for _ in range(40)),
        "private_key": pem,
        "client_email": f"deployer@{project}.iam.gserviceaccount.com",
        "client_id": str(rnd.randrange(10**20, 10**21)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }
    return info, json.dumps(pem)[1:-1]  # the secret as it stands in JSON text


# -- look-alikes -----------------------------------------------------------------------------

def _sequential(rule: Rule, key: str) -> str | None:
    prefix = _prefix(rule, key)
    body = key[len(prefix):]
    for filler in ("0123456789abcdef", "abcdefghijklmnopqrstuvwxyz0123456789",
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"):
        candidate = prefix + (filler * (len(body) // len(filler) + 1))[: len(body)]
        if rule.compiled.fullmatch(candidate):
            return candidate
    return None


def _lookalikes(rule: Rule, key: str, var: str) -> dict[str, tuple[str, str]]:
    """kind -> (file name, line). ``key`` is a fresh factory key never planted anywhere."""
    prefix = _prefix(rule, key)
    body = key[len(prefix):]
    out: dict[str, tuple[str, str]] = {}
    xs = prefix + "".join("x" if ch.isalnum() else ch for ch in body)
    if rule.compiled.fullmatch(xs):
        out["xxx-filled"] = (".env.example", f"{var}={xs}")
    seq = _sequential(rule, key)
    if seq:
        out["sequential"] = (".env.example", f"{var}={seq}")
    out["template"] = (".env.example", f"{var}=${{{var}}}")
    out["your-key"] = (".env.example", f"{var}={prefix}YOUR_API_KEY")
    out["truncated"] = ("README.md", f"Set `{var}` to your key (it looks like `{key[: max(len(prefix) + 4, len(key) // 3)]}...`).")
    out["redacted"] = ("README.md", f"The dashboard shows it as `{key[: len(prefix) + 4]}****{key[-4:]}`.")
    out["in-longer-token"] = ("assets.txt", f"blob: Zq9{key}Xk2Lm8")
    if rule.context and not prefix and not _leading_literal(rule):
        # a bare charset such as 40 hex: the same shape with no context word is not this key
        out["no-context"] = ("manifest.json", f'{{"checksum": "{key}"}}')
    return out


def build_corpus(root: Path, rules: list[Rule], seed: int = 7) -> Corpus:
    rnd = random.Random(seed)
    planted: list[Planted] = []
    lookalikes: list[LookAlike] = []
    providers: dict[str, str] = {}
    by_id = {r.id: r for r in rules}
    provider_rules = [r for r in rules if r.provider != "generic"]
    for n, rule in enumerate(provider_rules):
        project = f"project-{n + 1:02d}"
        providers[project] = rule.provider
        var = variable_for(rule)
        if rule.id == SERVICE_ACCOUNT_RULE:
            planted += _plant_service_account(root, project, rule, rnd)
        else:
            for fmt in FORMATS:
                name, writer = WRITERS[fmt]
                entries: list[tuple[str, str]] = []
                rules_of: list[Rule | None] = []
                if rule.id == "aws-secret-access-key" and "aws-access-key-id" in by_id:
                    companion = by_id["aws-access-key-id"]
                    entries.append((variable_for(companion), key_for(companion, rnd.randrange(1 << 30))))
                    rules_of.append(companion)
                if rule.provider == "azure-openai":
                    entries.append(("AZURE_OPENAI_ENDPOINT", "https://acme-east.openai.azure.com/"))
                    rules_of.append(None)
                entries.append((var, key_for(rule, rnd.randrange(1 << 30))))
                rules_of.append(rule)
                lines, where = writer(entries)
                rel = f"{project}/{name}"
                _write(root, rel, lines)
                for i, r in enumerate(rules_of):
                    if r is not None:
                        planted.append(Planted(rel, where[i], secret_of(r, entries[i][1]), r.id, r.provider, fmt))
        if rule.id == SERVICE_ACCOUNT_RULE:
            continue
        files: dict[str, list[str]] = {}
        for kind, (fname, line) in _lookalikes(rule, key_for(rule, rnd.randrange(1 << 30)), var).items():
            lines = files.setdefault(fname, ["# look-alikes"] if fname != "manifest.json" else [])
            lines.append(line)
            lookalikes.append(LookAlike(f"{project}/{fname}", len(lines), kind, rule.id, rule.provider, line))
        for fname, lines in files.items():
            _write(root, f"{project}/{fname}", lines)
    return Corpus(planted, lookalikes, providers)


def _plant_service_account(root: Path, project: str, rule: Rule, rnd: random.Random) -> list[Planted]:
    info, secret = _service_account(rnd)
    pretty = json.dumps(info, indent=2).splitlines()
    line = next(i for i, text in enumerate(pretty, 1) if text.lstrip().startswith('"private_key"'))
    _write(root, f"{project}/service-account.json", pretty)
    info2, secret2 = _service_account(rnd)
    env = ["# deploy settings", "GCP_PROJECT=" + info2["project_id"],
           "GOOGLE_CREDENTIALS_JSON='" + json.dumps(info2) + "'", "REGION=europe-west1"]
    _write(root, f"{project}/.env", env)
    return [
        Planted(f"{project}/service-account.json", line, secret, rule.id, rule.provider, "json",
                last_line=len(pretty)),
        Planted(f"{project}/.env", 3, secret2, rule.id, rule.provider, "env"),
    ]
