"""The text around a key: its line and the lines near it, the words that name its provider, the
variable it is assigned to, and line/column positions.

A minified bundle is one long line, so "nearby" is bounded in characters too (``REACH``): every
window here stops ``REACH`` characters from where it started looking.
"""
from __future__ import annotations

import re

from ..model import Rule

REACH = 1024  # characters around a secret in which its context words may stand

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASSIGN = re.compile(
    r"""(?:^|[\s,{;(\[])(?:export\s+|set\s+|const\s+|let\s+|var\s+)?["']?"""
    r"""([^\W\d][\w.$\-]*)["']?\s*(?::=|=>|\?=|=|:)\s*["'`]?\s*$"""
)
_YAML_NAME = re.compile(r"""^\s*-?\s*["']?(?:name|key)["']?\s*:\s*["']?([A-Za-z_][\w.\-]*)""")
_GENERIC_VALUE_NAMES = {"value", "default", "data", "val"}


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only, so that offsets stay the same as in ``text``."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def line_start(text: str, pos: int, above: int = 0, reach: int = REACH) -> int:
    """Where the line ``above`` lines above ``pos``'s line starts; never before ``pos - reach``."""
    lo = max(0, pos - reach)
    start = pos
    for _ in range(above + 1):
        nl = text.rfind("\n", lo, start)
        if nl < 0:
            return lo
        start = nl
    return start + 1


def line_end(text: str, pos: int, below: int = 0, reach: int = REACH) -> int:
    """Where the line ``below`` lines below ``pos``'s line ends (past its newline); never after
    ``pos + reach``."""
    hi = min(len(text), pos + reach)
    end = pos
    for _ in range(below + 1):
        nl = text.find("\n", end, hi)
        if nl < 0:
            return hi
        end = nl + 1
    return end


def context_near(text: str, pos: int, rule: Rule, end: int | None = None) -> bool:
    """A context word of ``rule`` on the secret's line, the ``context_lines`` lines above it or
    as many below it (an Azure endpoint written one line after its key)."""
    below = line_end(text, pos if end is None else end, rule.context_lines)
    region = ascii_lower(text[line_start(text, pos, rule.context_lines):below])
    return any(word.lower() in region for word in rule.context)


_CREDENTIAL_NAME = re.compile(r"(?i)key|token|secret|passw|auth|credential|api")


_WORD = re.compile(r"[a-z0-9]+")


def path_words(rule: Rule) -> set[str]:
    """The words that name a context rule's provider in a path: its context words that are plain
    words (``deepseek``, ``qwen``; not ``cohere_api_key``). Not the provider's bare name: every
    repository has a ``.github`` folder, and ``aws``/``google`` packages hold test keys."""
    return {w for w in (c.lower() for c in rule.context) if _WORD.fullmatch(w)}


def words_of(path: str) -> set[str]:
    return set(_WORD.findall(ascii_lower(path)))


class PathContext:
    """Which context rules a file's path names a provider for (a folder named after it:
    ``deepseek/config.py``): there the path is the context the text lacks. Every text asks:
    one set intersection of the path's words."""

    def __init__(self, rules: list[Rule]) -> None:
        self._rules: dict[str, list[int]] = {}
        for i, r in enumerate(rules):
            for w in path_words(r):
                self._rules.setdefault(w, []).append(i)
        self._words = frozenset(self._rules)

    def __call__(self, path: str) -> frozenset[int]:
        named = self._words.intersection(words_of(path))
        return frozenset(i for w in named for i in self._rules[w]) if named else frozenset()


def credential_name(name: str | None) -> bool:
    """Does a variable's name say it holds a credential (``api_key``, ``TOKEN``, ``secret``)?"""
    return bool(name) and bool(_CREDENTIAL_NAME.search(name))


def context_only(rule: Rule) -> bool:
    """Is every keyword of the rule a context word (a key with no literal of its own)?"""
    return bool(rule.context) and not {k.lower() for k in rule.keywords} - {c.lower() for c in rule.context}


class LineIndex:
    """1-based (line, column) of offsets in one text. Offsets met in increasing order cost only
    the distance between them, so many findings on one long line or in a long text stay linear."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos, self.line, self.line_start = 0, 1, 0

    def at(self, pos: int) -> tuple[int, int]:
        text = self.text
        if pos >= self.pos:
            newlines = text.count("\n", self.pos, pos)
            if newlines:
                self.line += newlines
                self.line_start = text.rfind("\n", self.pos, pos) + 1
        else:
            newlines = text.count("\n", pos, self.pos)
            if newlines:
                self.line -= newlines
                self.line_start = text.rfind("\n", 0, pos) + 1
        self.pos = pos
        return self.line, pos - self.line_start + 1


def variable_name(text: str, pos: int) -> str | None:
    """The variable or key whose value starts at ``pos`` (``GEMINI_API_KEY=…``, YAML pairs)."""
    nl = text.rfind("\n", max(0, pos - 300), pos)
    start = nl + 1 if nl >= 0 or pos <= 300 else -1  # -1: a long line, its start not sought
    before = text[max(start, pos - 300) : pos]
    m = _ASSIGN.search(before)
    if not m:
        return None
    name = m.group(1)
    if name.lower() in _GENERIC_VALUE_NAMES and start >= 0:
        # Kubernetes/compose style: "- name: OPENAI_API_KEY" then "value: sk-…"
        prev_end = start - 1
        for _ in range(3):
            if prev_end <= 0:
                break
            prev_start = text.rfind("\n", 0, prev_end) + 1
            pm = _YAML_NAME.match(text[prev_start:prev_end])
            if pm:
                return pm.group(1)
            prev_end = prev_start - 1
    return name
