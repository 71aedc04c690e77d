"""Judgements on a candidate secret: placeholders, published examples, look-alikes, allow
markers, entropy."""
from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

ALLOW_MARKERS = ("keyguard:allow", "pragma: allowlist secret", "gitleaks:allow")

_PLACEHOLDER_WORDS = (
    "xxxx", "your", "example", "placeholder", "dummy", "changeme", "change_me", "redacted",
    "insert", "replace", "fake", "sample", "todo", "fixme", "secret_here", "key_here",
    "....", "…", "****", "####",
)
_TEMPLATE_MARKS = ("${", "{{", "}}", "<", ">", "$(", "%(", "{%", "%}")
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789012345678901234567890",
    "zyxwvutsrqponmlkjihgfedcba",
    "9876543210987654321098765432109",
    "qwertyuiopasdfghjklzxcvbnm",
)
_REPEAT_RUN = re.compile(r"(.)\1{5,}")


def shannon_entropy(s: str) -> float:
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def has_allow_marker(line: str) -> bool:
    return any(m in line for m in ALLOW_MARKERS)


def _has_sequence(low: str, length: int = 6) -> bool:
    for seq in _SEQUENCES:
        for i in range(len(seq) - length + 1):
            if seq[i : i + length] in low:
                return True
    return False


KNOWN_EXAMPLES_NAME = "known-examples.json"


@lru_cache(maxsize=1)
def known_examples() -> dict[str, str]:
    """Published example keys (documentation, SDK fixtures) -> where each is published, from the
    data file shipped beside the built-in rules. Read once, and only when a candidate is judged."""
    import json

    from ..ruleset import RuleError, builtin_rules_dir

    try:
        data = json.loads((builtin_rules_dir() / KNOWN_EXAMPLES_NAME).read_text(encoding="utf-8"))
        return {str(e["value"]): str(e.get("source") or "") for e in data["examples"]}
    except (OSError, ValueError, KeyError, TypeError, RuleError):
        return {}


def placeholder_reason(secret: str, prefixes: tuple[str, ...] = ()) -> str | None:
    """Why ``secret`` looks like a placeholder, filler or a published example rather than a
    key, or None."""
    if secret in known_examples():
        return "published example key"
    body = secret
    for p in sorted(prefixes, key=len, reverse=True):
        if body.startswith(p):
            body = body[len(p) :]
            break
    low = body.lower()
    for word in _PLACEHOLDER_WORDS:
        if word in low:
            return f"placeholder text {word!r}"
    for mark in _TEMPLATE_MARKS:
        if mark in body:
            return "template or variable reference"
    if _REPEAT_RUN.search(body):
        return "repeated filler characters"
    if _has_sequence(low):
        return "sequential filler"
    stripped = re.sub(r"[^A-Za-z0-9]", "", body)
    if len(stripped) >= 16 and len(set(stripped.lower())) < 8:
        return "too few distinct characters"
    return None
