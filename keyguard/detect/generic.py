"""The opt-in ``generic`` pack: detect-secrets' generic detectors through its plugin API.

KeywordDetector (a quoted value assigned to a secret-sounding name) and the high-entropy
Base64 and hex string detectors catch credentials no provider rule knows, at the price of more
false alarms — so their findings have severity ``low`` and confidence ``low``, and a provider
rule that finds the same secret wins. detect-secrets is imported only when the pack is enabled.

Only the plugins' ``analyze_string`` is used: nothing here can make a network request.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from . import judge
from ..model import Finding, Rule, ScanText, Stats

PACK_NAME = "generic"
MAX_LINE = 10_000  # longer lines (minified bundles) are left to the provider rules
# baselines (keyguard's and detect-secrets') hold hashes of secrets, never secrets
_HASH_FIELD = re.compile(r"""["']?(?:hashed_secret|secret_sha256|secret_sha1)["']?\s*[:=]""")

_REMEDIATION = (
    "Check whether this value is a credential. If it is, revoke or rotate it with whoever issued "
    "it and load it from the environment or a secret manager; if it is not, allow its "
    "fingerprint with `keyguard allow FINGERPRINT --reason ...`."
)
_DETECTORS = {
    # rule id: (plugin class name, name, description)
    "generic-keyword": (
        "KeywordDetector", "Secret-sounding assignment (detect-secrets keyword)",
        "A quoted value assigned to a name such as password, secret, api_key or token.",
    ),
    "generic-base64-high-entropy": (
        "Base64HighEntropyString", "High-entropy Base64 string (detect-secrets)",
        "A quoted string of Base64 characters whose Shannon entropy is above 4.5.",
    ),
    "generic-hex-high-entropy": (
        "HexHighEntropyString", "High-entropy hex string (detect-secrets)",
        "A quoted string of hex digits whose Shannon entropy is above 3.0.",
    ),
}


def pack_rules() -> list[Rule]:
    """The pack's rules, described without importing detect-secrets."""
    return [
        Rule(
            id=rid, provider="generic", name=name, description=desc, regex="", keywords=(),
            severity="low", remediation=_REMEDIATION, confidence="low",
            references=("https://github.com/Yelp/detect-secrets#viewing-all-enabled-plugins",),
            source=f"detect-secrets {plugin}",
        )
        for rid, (plugin, name, desc) in _DETECTORS.items()
    ]


def is_pack_rule(rule: Rule) -> bool:
    return rule.id in _DETECTORS


class GenericPack:
    """Scans ``ScanText`` line by line with detect-secrets' plugins; yields low-confidence findings."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = [r for r in rules if is_pack_rule(r)]
        self._analyzers: list[tuple[Rule, Callable[[str, str], list[str]]]] = []
        self._heuristic: Any = None

    def _load(self) -> None:
        from detect_secrets.filters import heuristic
        from detect_secrets.plugins import high_entropy_strings as hes
        from detect_secrets.plugins import keyword
        from detect_secrets.util.filetype import determine_file_type

        self._heuristic = heuristic
        for rule in self.rules:
            plugin_name = _DETECTORS[rule.id][0]
            if plugin_name == "KeywordDetector":
                kw = keyword.KeywordDetector()

                def by_keyword(line: str, path: str, kw: Any = kw) -> list[str]:
                    table = keyword.REGEX_BY_FILETYPE.get(
                        determine_file_type(path), keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP
                    )
                    return list(kw.analyze_string(line, denylist_regex_to_group=table))

                self._analyzers.append((rule, by_keyword))
            else:
                plugin = getattr(hes, plugin_name)()

                def by_entropy(line: str, path: str, plugin: Any = plugin) -> list[str]:
                    return [
                        s for s in plugin.analyze_string(line)
                        if plugin.calculate_shannon_entropy(s) > plugin.entropy_limit
                    ]

                self._analyzers.append((rule, by_entropy))

    def _ignored(self, secret: str, line: str, rule: Rule) -> bool:
        h = self._heuristic
        if judge.placeholder_reason(secret):
            return True
        if (
            h.is_sequential_string(secret) or h.is_potential_uuid(secret)
            or h.is_templated_secret(secret) or h.is_prefixed_with_dollar_sign(secret)
            or h.is_not_alphanumeric_string(secret)
        ):
            return True
        return rule.id == "generic-keyword" and h.is_indirect_reference(line)

    def scan(self, st: ScanText, stats: Stats | None = None) -> list[Finding]:
        if not self.rules:
            return []
        if self._heuristic is None:
            self._load()
        h = self._heuristic
        if h.is_lock_file(st.path) or h.is_non_text_file(st.path):
            return []
        out: list[Finding] = []
        for index, line in enumerate(st.text.split("\n")):
            if len(line) > MAX_LINE or not line.strip() or _HASH_FIELD.search(line):
                continue
            marked = judge.has_allow_marker(line)
            for rule, analyze in self._analyzers:
                for secret in dict.fromkeys(analyze(line, st.path)):
                    if marked:
                        if stats is not None:
                            stats.suppress("allow-marker")
                        continue
                    if self._ignored(secret, line, rule):
                        if stats is not None:
                            stats.suppress("placeholder")
                        continue
                    col = line.find(secret)
                    col_shift = st.column_offset if index == 0 else 0
                    out.append(Finding(
                        rule=rule, secret=secret, path=st.path,
                        line=st.line_offset + index + 1,
                        column=col + 1 + col_shift,
                        end_line=st.line_offset + index + 1,
                        end_column=col + 1 + len(secret) + col_shift,
                        severity=rule.severity, commit=st.commit,
                        origin=dict(st.origin or {}), root=st.root,
                    ))
        return _one_per_secret(out)


def _one_per_secret(findings: list[Finding]) -> list[Finding]:
    """A value both the keyword and an entropy detector flag is reported once (keyword first)."""
    seen: set[tuple[int, str]] = set()
    out = []
    for f in findings:
        key = (f.line, f.secret)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def without_overlap(pack_findings: list[Finding], rule_findings: list[Finding]) -> list[Finding]:
    """Drop a pack finding where a rule found the same secret (or a part of it, or more)."""
    if not rule_findings:
        return pack_findings
    return [
        p for p in pack_findings
        if not any(
            f.line <= p.line <= f.end_line and (f.secret in p.secret or p.secret in f.secret)
            for f in rule_findings
        )
    ]
