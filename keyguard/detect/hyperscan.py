"""Rule regexes for Hyperscan: which rules Hyperscan reads exactly as Python's ``re`` does, their
translation to Hyperscan patterns, and the two places the engine uses them: the byte gate's
patterns (``gate_patterns``) and where each rule's match may end in a text (``RuleEnds``), so
that ``re`` searches only just before those ends.

What a regex can match is read from its parse tree by ``keyguard.ruleset.regex``.
"""
from __future__ import annotations

import re

from ..model import Rule
from ..ruleset import regex as rx
from .context import context_only
from .prefilter import bytes_to_chars, compiled, escaped_literal

HS_MAX_WIDTH = 1024  # wider rules are matched with re around their keywords only


def narrow(windows: list[tuple[int, int]], ends: list[int], width: int) -> list[tuple[int, int]]:
    """The parts of ``windows`` within ``width`` before a match end Hyperscan reported.

    Exact, for the rules ``RuleEnds`` accepts (no anchors, look-around or classes whose meaning
    differs, a bounded width): every match the regex finds in a window ends at a reported end
    and starts at most ``width`` before it, so it lies inside one merged piece, and searching
    the pieces in order finds the same matches as searching the whole window.
    """
    spans: list[tuple[int, int]] = []
    for e in sorted(set(ends)):
        s = max(0, e - width)
        if spans and s <= spans[-1][1]:
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
    out: list[tuple[int, int]] = []
    j = 0
    for ws, we in windows:
        while j < len(spans) and spans[j][1] <= ws:
            j += 1
        k = j
        while k < len(spans) and spans[k][0] < we:
            s, e = max(ws, spans[k][0]), min(we, spans[k][1])
            if s < e:
                out.append((s, e))
            k += 1
    return out


class RuleEnds:
    """Where could each rule's match end? One Hyperscan pass over a text for the rules whose
    regex Hyperscan reads exactly as Python does; the engine then searches with ``re`` only just
    before those ends, instead of everywhere around every keyword.

    One byte-mode database serves ASCII texts, and other texts for the rules that can only match
    ASCII characters (no ``.``, no negated class): those match the same on UTF-8 bytes. The
    other rules get a UTF-8-mode database, compiled only when a non-ASCII text first needs it.
    """

    def __init__(self, rules: list[Rule]) -> None:
        import hyperscan

        self._hs = hyperscan
        self._rules = rules
        # a context-only rule's regex is a bare character class (40 hex, 32 letters and digits)
        # that ends everywhere in ordinary text; its windows are bounded by its context words.
        # Wide bounded repeats ({300,6000}) cost Hyperscan a quarter second each to compile.
        eligible = [i for i, r in enumerate(rules)
                    if _hs_exact(r) and not context_only(r) and r.max_width <= HS_MAX_WIDTH]
        self._bytes = self._compile(eligible, 0)
        covered = self._bytes[1] if self._bytes else []
        self._closed = [i for i in covered if rx.ascii_closed(rules[i].regex)]
        self._open = [i for i in eligible if i not in self._closed]
        self._utf8: tuple[object, list[int]] | None | bool = False  # False: not compiled yet

    @classmethod
    def for_rules(cls, rules: list[Rule]) -> RuleEnds | None:
        try:
            import hyperscan  # noqa: F401
        except ImportError:
            return None
        ends = cls(rules)
        return ends if ends._bytes else None

    def _compile(self, indexes: list[int], flag: int) -> tuple[object, list[int]] | None:
        hs = self._hs
        patterns = {i: _hs_pattern(self._rules[i]) for i in indexes}
        try:
            db = compiled(hs, list(patterns.values()), [flag] * len(patterns), hs.HS_MODE_BLOCK,
                          ids=list(patterns))
            return (db, list(patterns)) if patterns else None
        except hs.error:  # one by one: a pattern Hyperscan refuses stays on the plain path
            pass
        ok = []
        for i, pat in patterns.items():
            try:
                hs.Database(mode=hs.HS_MODE_BLOCK).compile(
                    expressions=[pat], ids=[0], elements=1, flags=[flag])
                ok.append(i)
            except hs.error:
                continue
        return self._compile(ok, flag) if ok else None

    def find(self, text: str, utf8: bytes | None = None) -> dict[int, list[int]] | None:
        """Match ends for every rule index covered (an empty list: no match anywhere); None if
        no rule is covered for this text (e.g. lone surrogates, İ ı ſ K). ``utf8``: the text's
        UTF-8 encoding, if the caller has it."""
        assert self._bytes is not None
        if text.isascii():
            db, indexes = self._bytes
            ends: dict[int, list[int]] = {i: [] for i in indexes}
            db.scan(utf8 if utf8 is not None else text.encode("ascii"),  # type: ignore[attr-defined]
                    match_event_handler=lambda i, s, e, f, c: ends[i].append(e))
            return ends
        if not _hs_safe(text):
            return None
        data = utf8 if utf8 is not None else utf8_of(text)
        if data is None:
            return None
        if self._utf8 is False:
            self._utf8 = self._compile(self._open, self._hs.HS_FLAG_UTF8) if self._open else None
        passes = []
        if self._closed:
            passes.append((self._bytes[0], set(self._closed)))
        if self._utf8:
            passes.append((self._utf8[0], set(self._utf8[1])))  # type: ignore[index]
        if not passes:
            return None
        ends = {i: [] for _, wanted in passes for i in wanted}
        pairs: list[tuple[int, int]] = []
        for db, wanted in passes:
            db.scan(data, match_event_handler=lambda i, s, e, f, c, w=wanted: (  # type: ignore[attr-defined]
                pairs.append((i, e)) if i in w else None))
        for i, e in bytes_to_chars(data, pairs):  # ends fall between code points
            ends[i].append(e)
        return ends


def gate_patterns(rules: list[Rule], decode_base64: bool = True) -> tuple[list[bytes], set[str]]:
    """Hyperscan patterns that may stand in for keywords in the byte gate, and those keywords.

    A rule whose regex Hyperscan reads as Python does, and that can match only ASCII characters
    (and the few others that ``re`` folds to ASCII letters: ``_byte_pattern`` spells those out
    as UTF-8), matches a file's UTF-8 decoding only where its byte pattern matches the raw
    bytes: decoding with replacement keeps every ASCII byte. A rule's pattern is a much
    narrower question than its keywords (``token`` is in every other file, a token assignment
    is not). A keyword stays a question of its own if another rule uses it, or if it opens
    base64 decoding near it (the keywords of rules with context words): see ``_scan_base64``.
    """
    patterns: list[bytes] = []
    covered: set[str] = set()
    kept: set[str] = set()
    for rule in rules:
        kws = {k.lower() for k in rule.keywords}
        pattern = _byte_pattern(rule) if _hs_reads_as_re(rule) and not context_only(rule) else None
        if pattern is not None:
            patterns.append(open_repeats(pattern.decode("ascii"), GATE_MIN_REPEAT).encode("ascii"))
            covered |= kws
        else:
            kept |= kws
        if rule.context and decode_base64:
            kept |= kws
    if patterns:  # inline source maps are decoded (base64 or %-escapes) before they are scanned
        patterns.append(escaped_literal(b"sourceMappingURL=data:"))
    return patterns, covered - kept


def _byte_pattern(rule: Rule) -> bytes | None:
    """The rule's regex as a Hyperscan pattern over UTF-8 bytes, every repeat opened (``{m,n}``
    -> ``{m,}``): it matches wherever the regex matches the decoded text, and more. A
    case-insensitive regex has each character set spelled out as the characters ``re`` matches,
    İ ı ſ K (which it folds to ASCII letters) as their UTF-8 bytes. None if the regex can match
    other non-ASCII characters. (A printer, not a question: it rebuilds the tree as a pattern, so
    it recurses on its own rather than through ``walk``.)"""
    from re import _constants as c  # type: ignore[attr-defined]

    if not rx.ascii_closed(rule.regex):
        return None
    if not (rule.compiled.flags & re.I or re.search(r"\(\?[a-zA-Z-]*i", rule.regex)):
        return _hs_pattern(rule)  # no case folding: Hyperscan's bytes are Python's characters
    folded = [ch for ch in _HS_UNSAFE]

    def chars(item: str, icase: bool) -> bytes:
        one = re.compile(item, re.I if icase else 0)
        ascii_set = [i for i in range(128) if one.fullmatch(chr(i))]
        alternatives = [b"[" + b"".join(b"\\x%02x" % i for i in ascii_set) + b"]"] if ascii_set else []
        alternatives += [escaped_literal(ch.encode()) for ch in folded if one.fullmatch(ch)]
        return alternatives[0] if len(alternatives) == 1 else b"(?:" + b"|".join(alternatives) + b")"

    def spell(items: object, icase: bool) -> bytes:
        out = []
        for op, av in items:  # type: ignore[attr-defined]
            if op == c.LITERAL:
                out.append(chars(re.escape(chr(av)), icase))
            elif op == c.IN:
                parts = []
                for o, a in av:
                    if o == c.LITERAL:
                        parts.append(re.escape(chr(a)))
                    elif o == c.RANGE:
                        parts.append(re.escape(chr(a[0])) + "-" + re.escape(chr(a[1])))
                    else:
                        raise ValueError(o)
                out.append(chars("[" + "".join(parts) + "]", icase))
            elif op == c.SUBPATTERN:
                _, add, remove, sub = av
                inner = (icase or bool(add & re.I)) and not remove & re.I
                out.append(b"(?:" + spell(sub, inner) + b")")
            elif op == c.BRANCH:
                out.append(b"(?:" + b"|".join(spell(b, icase) for b in av[1]) + b")")
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
                lo, _, sub = av
                out.append(b"(?:" + spell(sub, icase) + b")" + b"{%d,}" % lo)
            else:
                raise ValueError(op)
        return b"".join(out)

    try:
        parsed = rx.parse(rule.regex)
        return spell(parsed, bool(parsed.state.flags & re.I))
    except (ValueError, re.error):
        return None


def utf8_of(text: str) -> bytes | None:
    """The UTF-8 encoding of ``text``; None if it holds lone surrogates."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


# non-ASCII characters that Python's case-insensitive matching takes for ASCII letters
# (İ ı ſ K): texts with any of them stay on the plain path, as do texts with lone surrogates
_HS_UNSAFE = "\u0130\u0131\u017f\u212a"


def _hs_safe(text: str) -> bool:
    """Does Hyperscan in UTF-8 mode see this text as Python's ``re`` does (for ``_hs_exact``
    rules)? Lone surrogates are caught when encoding (``RuleEnds.find``)."""
    return text.isascii() or not any(ch in text for ch in _HS_UNSAFE)


def _hs_pattern(rule: Rule) -> bytes:
    """The rule's regex for Hyperscan: no named group, and each bounded repeat ``{m,n}`` opened
    to ``{m,}``. That matches more, so its match ends are a superset of the regex's, which is
    all ``_narrow`` needs, and it compiles many times faster (a ``{300,6000}``: 0.13 s -> 0.01 s)."""
    pattern = rule.regex.replace("(?P<secret>", "(")
    opened = open_repeats(pattern)
    if opened != pattern and not rx.same_but_wider_repeats(pattern, opened):
        opened = pattern
    return opened.encode("ascii")


_REPEAT = re.compile(r"\{(\d+),(\d+)\}")
_ANY_REPEAT = re.compile(r"\{(\d+)(,\d*)?\}")
GATE_MIN_REPEAT = 24  # the byte gate's patterns ask at most this many of a repeated item


def open_repeats(pattern: str, cap: int | None = None) -> str:
    """``{m,n}`` -> ``{m,}`` outside character classes and escapes; with ``cap``, also any
    ``{m}``, ``{m,}`` or ``{m,n}`` with ``m`` over it -> ``{cap,}``: a pattern that matches
    wherever the original does, and compiles faster (the byte gate's 68 patterns: 0.22 s ->
    0.15 s). Lower caps let many more files through: at 16, 80 of the bundles corpus's files
    against 36 (37 at 24)."""
    out = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"  # a leading ] was taken with the [ below
        elif ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if pattern[i : i + 1] == "^":
                out.append("^")
                i += 1
            if pattern[i : i + 1] == "]":  # a leading ] is a literal
                out.append("]")
                i += 1
            continue
        elif ch == "{":
            m = (_REPEAT if cap is None else _ANY_REPEAT).match(pattern, i)
            if m:
                lo = int(m.group(1))
                if cap is not None and lo > cap:
                    out.append("{%d,}" % cap)
                elif cap is None or m.group(2):
                    out.append("{%d,}" % lo)
                else:
                    out.append(m.group(0))
                i = m.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _hs_exact(rule: Rule) -> bool:
    """Does Hyperscan read this regex as Python does (on ``_hs_safe`` texts), with a bounded width?"""
    return _hs_reads_as_re(rule, bounded=True)


def _hs_reads_as_re(rule: Rule, bounded: bool = False) -> bool:
    """Does Hyperscan read this regex as Python does (on ``_hs_safe`` texts)? With ``bounded``,
    only if its matches are at most ``rule.max_width`` characters long, too."""
    pattern = rule.regex
    if not pattern.isascii() or "{," in pattern or "(?x" in pattern or rule.compiled.flags & re.X:
        return False
    if pattern.count("(?P") != pattern.count("(?P<secret>") or "(?P=" in pattern:
        return False
    try:
        tree = rx.parse(pattern)
    except re.error:
        return False
    if bounded and tree.getwidth()[1] > rule.max_width:  # unbounded or capped: no width to look back
        return False
    return rx.hyperscan_reads_as_re(tree)
