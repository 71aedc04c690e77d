"""The byte gate for a set of rules: what every source asks of raw bytes before decoding them
(can they hold a match at all?). See ``prefilter.ByteGate``."""
from __future__ import annotations

from ..model import Rule
from .context import path_words
from .hyperscan import gate_patterns
from .prefilter import ByteGate, rule_literals

INLINE_MAP_MARKER = "sourceMappingURL=data:"


def byte_gate(rules: list[Rule]) -> ByteGate | None:
    """The gate a source asks before decoding raw bytes: can they hold a match of ``rules``?"""
    # an inline source map is decoded (base64 or %-escapes) before it is scanned: its marker
    # opens the gate as a keyword does (the Hyperscan patterns ask for it too)
    keywords, b64 = rule_literals([r.keywords for r in rules] + [(INLINE_MAP_MARKER,)])
    gate = ByteGate.for_literals(keywords, b64, lambda: gate_patterns(rules))
    if gate is not None:
        gate.path_words = frozenset(w for r in rules for w in path_words(r))
    return gate
