"""A value under a key-named variable in an agent or MCP config is a credential, whatever its shape.

The rules know provider keys by their shape; an MCP server's ``env`` often holds a key of a
service no rule knows (``ACME_API_KEY: "q8Z2…"``). In an agent config the name is reliable — it
is the variable the server reads — so this pack reports such a value when it is not a reference
(``${VAR}``, ``${env:VAR}``, ``${input:id}``, ``$VAR``, ``env:VAR``), not a placeholder, and
not too short or too uniform to be a secret. It judges only the texts the agent-config source
makes (``ConfigValueText``, whose ``locate`` asks it); a rule that finds the same value wins.
"""
from __future__ import annotations

import re

from . import judge as filters
from ..model import Finding, Rule, ScanText, Stats

RULE_ID = "agent-config-key-named-value"
MIN_CHARS = 8
MIN_ENTROPY = 2.5
_KEY_NAME = re.compile(
    r"(?i)(?:api[_-]?key|apikey|access[_-]?key|secret|token|passw(?:or)?d|\bpwd\b|auth"
    r"|bearer|credential|private[_-]?key|(?:^|[_-])key$)"
)
# names that hold where a key is, or what kind, never the key itself
_NOT_A_KEY_NAME = re.compile(
    r"(?i)(?:[_-](?:url|uri|endpoint|host|path|file|dir|env|env_var|var|name|id|type|header"
    r"|expires?(?:_at)?|ttl|limit|count|mode|method|provider|scope|scopes)$|^(?:auth_?type|authprovider)$)"
)
# containers whose values are names of environment variables, not values
_REFERENCE_CONTAINERS = ("env_vars", "env_http_headers", "bearer_token_env_var", "inputs")
_REFERENCE = re.compile(r"\$\{[^}]*\}|^\$[A-Za-z_]\w*$|^env:[A-Za-z_]\w*$|^\{\{.*\}\}$|^%[A-Za-z_]\w*%$")
_SCHEME = re.compile(r"(?i)^(?:bearer|basic|token|apikey)\s+")

RULE = Rule(
    id=RULE_ID, provider="generic", name="Key-named value in an agent or MCP config",
    description=(
        "A literal value under a variable, header or flag named like a credential (API_KEY, "
        "TOKEN, SECRET, Authorization) in an MCP or coding-agent config file."
    ),
    regex="", keywords=(), severity="medium", confidence="medium",
    remediation=(
        "Rotate the key with whoever issued it, then reference it from the environment instead "
        "(`${VAR}` in .mcp.json and Claude Desktop, `${env:VAR}` in Cursor and Windsurf, an "
        "`inputs` entry with \"password\": true in VS Code, `env_vars`/`bearer_token_env_var` "
        "in Codex) and keep the config out of git and packages."
    ),
    references=("https://code.claude.com/docs/en/mcp",),
    source="keyguard agent-config pack",
)


def is_key_name(name: str) -> bool:
    return bool(_KEY_NAME.search(name)) and not _NOT_A_KEY_NAME.search(name)


def literal_value(value: str) -> str | None:
    """The credential part of ``value`` if it is a literal (not a reference or placeholder)."""
    v = _SCHEME.sub("", value.strip())
    if not v or _REFERENCE.search(v) or any(c.isspace() for c in v):
        return None
    if len(v) < MIN_CHARS or v.isdigit() or v.lower() in ("true", "false", "null", "none"):
        return None
    if v.startswith(("http://", "https://", "/", "./", "~/", "../")):
        return None
    if filters.placeholder_reason(v) or filters.shannon_entropy(v) < MIN_ENTROPY:
        return None
    return v


def key_named_findings(st: ScanText, stats: Stats | None = None) -> list[Finding]:
    """The finding for a ``ConfigValueText`` whose value is a literal under a key name."""
    name = getattr(st, "name", "")
    if not name or not (st.origin or {}).get("agent_config"):
        return []
    path = (st.origin or {}).get("json_path", "")
    if any(part in path for part in _REFERENCE_CONTAINERS) or not is_key_name(name):
        return []
    start = getattr(st, "value_start", 0)
    value = st.text[start:-1]  # ``…="value"``
    secret = literal_value(value)
    if secret is None:
        return []
    if filters.has_allow_marker(st.text):
        if stats is not None:
            stats.suppress("allow-marker")
        return []
    at = start + value.find(secret)
    column = at + 1
    origin = dict(st.origin or {})
    origin["variable"] = name
    return [Finding(
        rule=RULE, secret=secret, path=st.path, line=st.line_offset + 1, column=column,
        end_column=column + len(secret), end_line=st.line_offset + 1, severity=RULE.severity,
        commit=st.commit, origin=origin, root=st.root,
    )]
