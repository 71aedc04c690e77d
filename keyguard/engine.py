"""The engine: keyword prefilter, then each rule's regex only in windows around keyword hits.

Input is a ``ScanText``; output is a list of ``Finding``. Placeholders, allow markers and entropy
are judged here (via ``filters``) because they need the surrounding text; baselines and config
come later in the pipeline.
"""
from __future__ import annotations

import base64
import binascii
import re
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from . import filters
from .model import Finding, Rule, ScanText, Stats
from .prefilter import (
    B64_RUN, HYPERSCAN_AFTER_TEXTS, HYPERSCAN_MIN_CHARS, HyperscanPrefilter, Prefilter, PythonPrefilter, ascii_lower,
    _bytes_to_chars, _escaped, base64_fingerprints, hyperscan_available,
)

_TOKEN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_B64_CHARS = re.compile(r"[A-Za-z0-9+/]*")
_NOT_B64 = re.compile(r"[^A-Za-z0-9+/]")
_B64_PAD = re.compile(r"={0,2}")
_ASSIGN = re.compile(
    r"""(?:^|[\s,{;(\[])(?:export\s+|set\s+|const\s+|let\s+|var\s+)?["']?"""
    r"""([^\W\d][\w.$\-]*)["']?\s*(?::=|=>|\?=|=|:)\s*["'`]?\s*$"""
)
_YAML_NAME = re.compile(r"""^\s*-?\s*["']?(?:name|key)["']?\s*:\s*["']?([A-Za-z_][\w.\-]*)""")
_GENERIC_VALUE_NAMES = {"value", "default", "data", "val"}
REGEX_BUDGET_SECONDS = 5.0  # one rule on one text
# one user rule (``--rules``) over the whole scan, so that a regex that stays just under the
# per-text budget cannot hold up a scan of many files; built-in rules are vetted by the tests
USER_RULE_BUDGET_SECONDS = 30.0
HS_MAX_WIDTH = 1024  # wider rules are matched with re around their keywords only
CONTEXT_REACH = 1024  # characters around a secret in which its context words may stand
# Hyperscan's rule ends narrow the regex windows of texts with at least this many keyword hits
# (minified bundles: thousands), once this many came in texts whose lines are this long on average
RULE_ENDS_MIN_HITS = 16
RULE_ENDS_AFTER_HITS = 25_000  # each 8,000 hits saved 0.03-0.05 s; compiling costs 0.06-0.1 s
RULE_ENDS_LINE_CHARS = 256


class RuleTimeout(Exception):
    pass


@contextmanager
def _budget(seconds: float) -> Iterator[None]:
    """Interrupt a runaway regex (CPython's ``re`` checks signals while matching)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def fire(signum: int, frame: object) -> None:
        raise RuleTimeout()

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class Candidate:
    rule: Rule
    start: int  # offsets of the secret in the scanned text
    end: int
    secret: str


class Engine:
    """Finds rule matches in text. Stateless between calls except for disabled runaway rules."""

    def __init__(self, rules: list[Rule], decode_base64: bool = True, fast: bool | None = None) -> None:
        self.rules = rules
        self.decode_base64 = decode_base64
        self.disabled: dict[str, str] = {}
        self.errors: list[str] = []
        # keyword (lower-case) -> indexes of rules that use it
        self._by_keyword: dict[str, list[int]] = {}
        for i, rule in enumerate(rules):
            for kw in rule.keywords:
                self._by_keyword.setdefault(kw.lower(), []).append(i)
        self._keywords = list(self._by_keyword)
        b64: set[str] = set()
        for rule in rules:
            for kw in rule.keywords:
                b64 |= base64_fingerprints(kw)
        self._b64_literals = sorted(b64) if decode_base64 else []
        self._context_kw = {
            k for k, idxs in self._by_keyword.items() if any(rules[i].context for i in idxs)
        }
        self._python = PythonPrefilter(self._keywords, self._b64_literals)
        builtin = _builtin_rules_dir()
        self._spent: dict[int, float] = {i: 0.0 for i, r in enumerate(rules)
                                         if not r.source or os.path.dirname(os.path.abspath(r.source)) != builtin}
        self._fast_wanted = hyperscan_available() if fast is None else fast
        self._hyperscan: Prefilter | None = None
        self._rule_ends: RuleEnds | None | bool = None  # False: Hyperscan takes none of the rules
        self._texts_seen = 0
        self._chars_seen = 0
        self._hits_seen = 0

    # -- public -------------------------------------------------------------------------------
    def scan(self, st: ScanText, stats: Stats | None = None) -> list[Finding]:
        text = st.text
        prefilter = self._prefilter(text)
        utf8 = None  # the bytes that both Hyperscan passes read, encoded once
        if isinstance(prefilter, HyperscanPrefilter):
            utf8 = st.utf8 if st.utf8 is not None else _utf8(text)
            kw_hits, b64_hits = prefilter.find(text, utf8)
        else:
            kw_hits, b64_hits = prefilter.find(text)
        findings = []
        if kw_hits:
            lines = LineIndex(text)
            for c in self._candidates(text, kw_hits, self._ends(text, len(kw_hits), utf8)):
                f = self._judge(c, text, st, stats, lines)
                if f:
                    findings.append(f)
        if self.decode_base64 and (b64_hits or kw_hits):
            findings += self._scan_base64(st, stats, kw_hits, b64_hits)
        return findings

    def candidates(self, text: str) -> list[Candidate]:
        """Rule matches in ``text`` before judging (placeholders, allow markers, entropy)."""
        kw_hits, _ = self._python.find(text)
        if not kw_hits:
            return []
        return self._candidates(text, kw_hits, self._ends(text, len(kw_hits)))

    def _ends(self, text: str, hits: int, utf8: bytes | None = None) -> dict[int, list[int]] | None:
        """``RuleEnds`` of a text with enough keyword hits to repay a Hyperscan pass over it,
        once enough hits in long lines (minified code: long regex windows) came to repay
        compiling the database."""
        if hits < RULE_ENDS_MIN_HITS or not self._fast_wanted:
            return None
        if self._rule_ends is None:
            if len(text) < RULE_ENDS_LINE_CHARS * (text.count("\n") + 1):
                return None
            self._hits_seen += hits
            if self._hits_seen < RULE_ENDS_AFTER_HITS:
                return None
            self._rule_ends = RuleEnds.for_rules(self.rules) or False
        return self._rule_ends.find(text, utf8) if self._rule_ends else None

    def prepare(self) -> None:
        """Compile the Hyperscan prefilter now, not once enough text came (e.g. once in a parent
        process, before its workers fork, rather than in each of them)."""
        self._start_hyperscan()

    def _start_hyperscan(self) -> Prefilter:
        if self._hyperscan is None and self._fast_wanted:
            try:
                self._hyperscan = HyperscanPrefilter(self._keywords, self._b64_literals)
            except ImportError:  # installed but unloadable: str.find it is
                self._fast_wanted = False
        return self._hyperscan or self._python

    def _prefilter(self, text: str) -> Prefilter:
        if self._hyperscan is not None:
            return self._hyperscan
        self._texts_seen += 1
        self._chars_seen += len(text)
        if self._fast_wanted and (
            self._chars_seen >= HYPERSCAN_MIN_CHARS or self._texts_seen > HYPERSCAN_AFTER_TEXTS
        ):
            return self._start_hyperscan()
        return self._python

    # -- matching -----------------------------------------------------------------------------
    def _candidates(
        self, text: str, kw_hits: list[tuple[int, int]], ends: dict[int, list[int]] | None = None,
    ) -> list[Candidate]:
        hits: dict[int, list[tuple[int, int]]] = {}
        for ki, pos in kw_hits:
            kw = self._keywords[ki]
            for i in self._by_keyword[kw]:
                hits.setdefault(i, []).append((pos, len(kw)))
        out: list[Candidate] = []
        for i in sorted(hits):
            rule = self.rules[i]
            if rule.id in self.disabled:
                continue
            rule_ends = None
            if ends is not None and i in ends:
                rule_ends = ends[i]
                if not rule_ends:
                    continue  # Hyperscan saw no match of this rule anywhere in the text
            budget = REGEX_BUDGET_SECONDS
            spent = self._spent.get(i)
            if spent is not None:
                budget = min(budget, USER_RULE_BUDGET_SECONDS - spent)
            started = time.perf_counter()
            try:
                if budget <= 0:
                    raise RuleTimeout()
                with _budget(budget):
                    out += self._match_rule(rule, text, hits[i], rule_ends)
            except RuleTimeout:
                what = (f"its {REGEX_BUDGET_SECONDS:g} s matching budget on one text"
                        if budget >= REGEX_BUDGET_SECONDS else
                        f"its {USER_RULE_BUDGET_SECONDS:g} s matching budget for the whole scan")
                msg = (f"rule {rule.id!r} ({rule.source}) exceeded {what} and was disabled for "
                       "the rest of the scan; its regex backtracks too much (e.g. nested or "
                       "adjacent repeats of the same characters)")
                self.disabled[rule.id] = msg
                self.errors.append(msg)
            finally:
                if spent is not None:
                    self._spent[i] = spent + time.perf_counter() - started
        out.sort(key=lambda c: (c.start, c.end, c.rule.id))
        return _prefer_specific(out)

    def _windows(self, rule: Rule, text: str, hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
        n = len(text)
        spans = []
        if _context_only(rule):
            # context-only rule: the key sits on the context word's line or a few lines below
            # (a secret counts only within CONTEXT_REACH of a context word: see _context_near)
            for pos, _ in hits:
                lo, hi = max(0, pos - CONTEXT_REACH), min(n, pos + CONTEXT_REACH + rule.max_width)
                start = max(text.rfind("\n", lo, pos) + 1, lo)
                end = pos
                for _ in range(rule.context_lines + 1):
                    nl = text.find("\n", end, hi)
                    if nl < 0:
                        end = hi
                        break
                    end = nl + 1
                spans.append((start, min(n, max(end, pos + rule.max_width))))
        elif rule.multiline:
            w = rule.max_width
            spans = [(max(0, pos - w), min(n, pos + klen + w)) for pos, klen in hits]
        else:  # the match lies on the keyword's line
            w = rule.max_width
            for pos, klen in hits:
                ls = max(text.rfind("\n", max(0, pos - w), pos) + 1, pos - w)
                le = text.find("\n", pos + klen, pos + klen + w)
                spans.append((ls, min(n, pos + klen + w) if le < 0 else le))
        spans.sort()
        merged: list[tuple[int, int]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                if e > merged[-1][1]:
                    merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        return merged

    def _match_rule(
        self, rule: Rule, text: str, hits: list[tuple[int, int]], ends: list[int] | None = None,
    ) -> list[Candidate]:
        found: list[Candidate] = []
        seen: set[tuple[int, int]] = set()
        windows = self._windows(rule, text, hits)
        if ends is not None:
            windows = _narrow(windows, ends, rule.max_width)
        for ws, we in windows:
            for m in rule.compiled.finditer(text, ws, we):
                if "secret" in rule.compiled.groupindex and m.group("secret") is not None:
                    s, e = m.span("secret")
                else:
                    s, e = m.span()
                if (s, e) in seen or e <= s:
                    continue
                seen.add((s, e))
                secret = text[s:e]
                if not _bounded(text, s, e, secret):
                    continue
                if rule.context and not _context_near(text, s, rule):
                    continue
                found.append(Candidate(rule, s, e, secret))
        return found

    # -- turning candidates into findings -------------------------------------------------------
    def _judge(
        self, c: Candidate, text: str, st: ScanText, stats: Stats | None,
        lines: LineIndex | None = None, origin_extra: dict | None = None,
    ) -> Finding | None:
        rule = c.rule
        # the secret's line; on a long (minified) line only the part near the secret
        reach_start = max(0, c.start - CONTEXT_REACH)
        line_start = max(text.rfind("\n", reach_start, c.start) + 1, reach_start)
        line_end = text.find("\n", c.end, c.end + CONTEXT_REACH)
        line_end = min(len(text), c.end + CONTEXT_REACH) if line_end < 0 else line_end
        if filters.has_allow_marker(text[line_start:line_end]):
            _suppress(stats, "allow-marker")
            return None
        if rule.min_entropy and filters.shannon_entropy(c.secret) < rule.min_entropy:
            _suppress(stats, "low-entropy")
            return None
        if filters.placeholder_reason(c.secret, rule.keywords):
            _suppress(stats, "placeholder")
            return None
        lines = lines or LineIndex(text)
        line, column = lines.at(c.start)
        end_line, end_column = lines.at(c.end)
        origin: dict = dict(st.origin or {})
        variable = variable_name(text, c.start)
        if variable:
            origin["variable"] = variable
        if origin_extra:
            origin.update(origin_extra)
        col_shift = st.column_offset if line == 1 else 0
        return Finding(
            rule=rule,
            secret=c.secret,
            path=st.path,
            line=line + st.line_offset,
            column=column + col_shift,
            end_column=end_column + (st.column_offset if end_line == 1 else 0),
            end_line=end_line + st.line_offset,
            severity=rule.severity,
            commit=st.commit,
            origin=origin,
            root=st.root,
        )

    def _scan_base64(
        self, st: ScanText, stats: Stats | None,
        kw_hits: list[tuple[int, int]], b64_hits: list[tuple[int, int]],
    ) -> list[Finding]:
        """Decode the base64 runs that hold a keyword's base64 fingerprint, or that sit where a
        context-only rule's word was seen (``OPENAI_KEY: c2stcHJvai0…`` in a Kubernetes Secret)."""
        text = st.text
        starts = [pos for _, pos in b64_hits]
        # where a context word was seen: its line and the 3 below (on long lines, within
        # CONTEXT_REACH of the word); each part of the text searched once however many words
        n = len(text)
        windows: list[tuple[int, int]] = []
        for ki, pos in kw_hits:
            if self._keywords[ki] not in self._context_kw:
                continue
            lo, hi = max(0, pos - CONTEXT_REACH), min(n, pos + 4 * CONTEXT_REACH)
            ws = max(text.rfind("\n", lo, pos) + 1, lo)
            we = pos
            for _ in range(4):
                nl = text.find("\n", we, hi)
                if nl < 0:
                    we = hi
                    break
                we = nl + 1
            windows.append((ws, we))
        searched = 0
        for ws, we in sorted(windows):
            ws = max(ws, searched)
            if ws < we:
                starts += [m.start() for m in B64_RUN.finditer(text, ws, we)]
                searched = we
        # each run once: a long run holds many hits, and finding its ends costs its length
        runs: list[tuple[int, int]] = []
        for pos in sorted(starts):
            if runs and runs[-1][0] <= pos < runs[-1][1]:
                continue
            runs.append(_b64_run_at(text, pos))
        out: list[Finding] = []
        lines = LineIndex(text)
        for rs, re_ in sorted(set(runs)):
            if re_ - rs < 24:
                continue
            decoded = _b64_text(text[rs:re_])
            if decoded is None:
                continue
            # keep the lines above and the line's start, so context words such as the variable
            # name still count for keys with no distinctive prefix
            # (on a long line only the CONTEXT_REACH characters before the run)
            lo = max(0, rs - CONTEXT_REACH)
            prefix_start = rs
            for _ in range(4):
                prefix_start = max(text.rfind("\n", lo, max(prefix_start - 1, 0)) + 1, lo)
                if prefix_start == lo:
                    break
            prefix = text[prefix_start:rs]
            combined = prefix + decoded
            for c in self.candidates(combined):
                if c.start < len(prefix):
                    continue
                f = self._judge(c, combined, st, stats, origin_extra={"encoding": "base64"})
                if f is None:
                    continue
                # locate the finding at the encoded run in the artifact
                line, col = lines.at(rs)
                end_line, end_col = lines.at(re_)
                f.line = line + st.line_offset
                f.column = col + (st.column_offset if line == 1 else 0)
                f.end_line = end_line + st.line_offset
                f.end_column = end_col + (st.column_offset if end_line == 1 else 0)
                if "variable" not in f.origin:
                    v = variable_name(text, rs)
                    if v:
                        f.origin["variable"] = v
                out.append(f)
        return out


def _builtin_rules_dir() -> str:
    from .rules import RuleError, builtin_rules_dir

    try:
        return str(builtin_rules_dir())
    except RuleError:
        return ""


def _narrow(windows: list[tuple[int, int]], ends: list[int], width: int) -> list[tuple[int, int]]:
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
                    if _hs_exact(r) and not _context_only(r) and r.max_width <= HS_MAX_WIDTH]
        self._bytes = self._compile(eligible, 0)
        covered = self._bytes[1] if self._bytes else []
        self._closed = [i for i in covered if _ascii_closed(rules[i])]
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
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        try:
            db.compile(expressions=list(patterns.values()), ids=list(patterns),
                       elements=len(patterns), flags=[flag] * len(patterns))
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
        data = utf8 if utf8 is not None else _utf8(text)
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
        for i, e in _bytes_to_chars(data, pairs):  # ends fall between code points
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
        pattern = _byte_pattern(rule) if _hs_reads_as_re(rule) and not _context_only(rule) else None
        if pattern is not None:
            patterns.append(pattern)
            covered |= kws
        else:
            kept |= kws
        if rule.context and decode_base64:
            kept |= kws
    if patterns:  # inline source maps are decoded (base64 or %-escapes) before they are scanned
        patterns.append(_escaped(b"sourceMappingURL=data:"))
    return patterns, covered - kept


def _byte_pattern(rule: Rule) -> bytes | None:
    """The rule's regex as a Hyperscan pattern over UTF-8 bytes, every repeat opened (``{m,n}``
    -> ``{m,}``): it matches wherever the regex matches the decoded text, and more. A
    case-insensitive regex has each character set spelled out as the characters ``re`` matches,
    İ ı ſ K (which it folds to ASCII letters) as their UTF-8 bytes. None if the regex can match
    other non-ASCII characters."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]

    if not _ascii_closed(rule):
        return None
    if not (rule.compiled.flags & re.I or re.search(r"\(\?[a-zA-Z-]*i", rule.regex)):
        return _hs_pattern(rule)  # no case folding: Hyperscan's bytes are Python's characters
    folded = [ch for ch in _HS_UNSAFE]

    def chars(item: str, icase: bool) -> bytes:
        one = re.compile(item, re.I if icase else 0)
        ascii_set = [i for i in range(128) if one.fullmatch(chr(i))]
        alternatives = [b"[" + b"".join(b"\\x%02x" % i for i in ascii_set) + b"]"] if ascii_set else []
        alternatives += [_escaped(ch.encode()) for ch in folded if one.fullmatch(ch)]
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
        parsed = sre_parse.parse(rule.regex)
        return spell(parsed, bool(parsed.state.flags & re.I))
    except (ValueError, re.error):
        return None


def _context_only(rule: Rule) -> bool:
    """Is every keyword of the rule a context word (a key with no literal of its own)?"""
    return bool(rule.context) and not {k.lower() for k in rule.keywords} - {c.lower() for c in rule.context}


def _ascii_closed(rule: Rule) -> bool:
    """Can the regex match only ASCII characters (so byte mode sees UTF-8 text as ``re`` does)?"""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]

    def closed(items: object) -> bool:
        for op, av in items:  # type: ignore[attr-defined]
            if op in (c.ANY, c.NOT_LITERAL):
                return False
            if op == c.IN and any(o == c.NEGATE for o, _ in av):
                return False
            if op == c.SUBPATTERN and not closed(av[-1]):
                return False
            if op in (c.MAX_REPEAT, c.MIN_REPEAT) and not closed(av[2]):
                return False
            if op == c.BRANCH and not all(closed(b) for b in av[1]):
                return False
        return True

    return closed(sre_parse.parse(rule.regex))


def _utf8(text: str) -> bytes | None:
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
    opened = _open_repeats(pattern)
    if opened != pattern and not _only_repeats_opened(pattern, opened):
        opened = pattern
    return opened.encode("ascii")


_REPEAT = re.compile(r"\{(\d+),(\d+)\}")


def _open_repeats(pattern: str) -> str:
    """``{m,n}`` -> ``{m,}`` outside character classes and escapes."""
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
            m = _REPEAT.match(pattern, i)
            if m:
                out.append("{" + m.group(1) + ",}")
                i = m.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _only_repeats_opened(pattern: str, opened: str) -> bool:
    """Do the two regexes parse to the same tree but for repeats whose upper bound was raised?"""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]

    def same(a: object, b: object) -> bool:
        a, b = list(a), list(b)  # type: ignore[call-overload]
        if len(a) != len(b):
            return False
        for (op_a, av_a), (op_b, av_b) in zip(a, b):
            if op_a != op_b:
                return False
            if op_a in (c.MAX_REPEAT, c.MIN_REPEAT):
                if av_a[0] != av_b[0] or av_b[1] < av_a[1] or not same(av_a[2], av_b[2]):
                    return False
            elif op_a == c.SUBPATTERN:
                if av_a[:3] != av_b[:3] or not same(av_a[3], av_b[3]):
                    return False
            elif op_a == c.BRANCH:
                if len(av_a[1]) != len(av_b[1]) or not all(map(same, av_a[1], av_b[1])):
                    return False
            elif av_a != av_b:
                return False
        return True

    try:
        return same(sre_parse.parse(pattern), sre_parse.parse(opened))
    except re.error:
        return False


def _hs_exact(rule: Rule) -> bool:
    """Does Hyperscan read this regex as Python does (on ``_hs_safe`` texts), with a bounded width?"""
    return _hs_reads_as_re(rule, bounded=True)


def _hs_reads_as_re(rule: Rule, bounded: bool = False) -> bool:
    """Does Hyperscan read this regex as Python does (on ``_hs_safe`` texts)? With ``bounded``,
    only if its matches are at most ``rule.max_width`` characters long, too."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]

    pattern = rule.regex
    if not pattern.isascii() or "{," in pattern or "(?x" in pattern or rule.compiled.flags & re.X:
        return False
    if pattern.count("(?P") != pattern.count("(?P<secret>") or "(?P=" in pattern:
        return False
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return False
    if bounded and parsed.getwidth()[1] > rule.max_width:  # unbounded or capped: no width to look back
        return False
    banned = {c.AT, c.ASSERT, c.ASSERT_NOT, c.GROUPREF, c.GROUPREF_EXISTS, c.CATEGORY}
    banned |= {getattr(c, n) for n in ("ATOMIC_GROUP", "POSSESSIVE_REPEAT") if hasattr(c, n)}

    def ok(items: object) -> bool:
        for op, av in items:  # type: ignore[attr-defined]
            if op in banned:
                return False
            if op == c.IN and any(o == c.CATEGORY for o, _ in av):
                return False
            if op == c.SUBPATTERN and not ok(av[-1]):
                return False
            if op in (c.MAX_REPEAT, c.MIN_REPEAT) and not ok(av[2]):
                return False
            if op == c.BRANCH and not all(ok(b) for b in av[1]):
                return False
        return True

    return ok(parsed)


def _suppress(stats: Stats | None, reason: str) -> None:
    if stats is not None:
        stats.suppress(reason)


def _b64_run_at(text: str, pos: int) -> tuple[int, int]:
    """The maximal base64 run (with its ``=`` padding) around ``pos``; linear in its length."""
    start, size = pos, 64
    while start > 0:  # back to the last character that is not base64, in growing pieces
        piece_start = max(0, start - size)
        last = None
        for last in _NOT_B64.finditer(text, piece_start, start):
            pass
        if last is not None:
            start = last.end()
            break
        start, size = piece_start, min(size * 2, 1 << 16)
    end = _B64_CHARS.match(text, pos).end()
    end = _B64_PAD.match(text, end).end()
    return start, end


def _b64_text(token: str) -> str | None:
    body = token.rstrip("=")
    if len(body) % 4 == 1:
        return None
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 16:
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for ch in decoded if ch.isprintable() or ch in "\n\r\t")
    if printable < len(decoded) * 0.95:
        return None
    return decoded


def _bounded(text: str, s: int, e: int, secret: str) -> bool:
    """A key-shaped run inside a longer token (a base64 blob, ``task-proj-…``) is not a key."""
    before = after = _TOKEN
    if "+" in secret or "/" in secret:
        # base64: "=" only pads a run's end; before a key it is an assignment (KEY=value)
        before = _TOKEN | {"+", "/"}
        after = before | {"="}
    # "\n", "\t", "\r" escapes in a JSON or JS string end the token before them
    escaped = s > 1 and text[s - 2] == "\\" and text[s - 1] in "ntr" and (s < 3 or text[s - 3] != "\\")
    if s > 0 and text[s - 1] in before and secret[0] in after and not escaped:
        return False
    if e < len(text) and text[e] in after and secret[-1] in after:
        return False
    return True


def _context_near(text: str, pos: int, rule: Rule) -> bool:
    """A context word on the secret's line or the ``context_lines`` lines above it."""
    # a minified bundle is one long line: "nearby" stays nearby there too
    lo = max(0, pos - CONTEXT_REACH)
    start, found = pos, True
    for _ in range(rule.context_lines + 1):  # the secret's line and context_lines above it
        nl = text.rfind("\n", lo, start)
        if nl < 0:
            found = False
            break
        start = nl
    start = start + 1 if found else lo
    end = text.find("\n", pos, pos + CONTEXT_REACH)
    end = min(len(text), pos + CONTEXT_REACH) if end < 0 else end
    region = ascii_lower(text[start:end])
    return any(word.lower() in region for word in rule.context)


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


def _prefer_specific(cands: list[Candidate]) -> list[Candidate]:
    """Drop a generic rule's candidate where a provider rule matched an overlapping span."""
    specific = [c for c in cands if c.rule.provider != "generic"]
    if len(specific) == len(cands):
        return cands
    out = list(specific)
    for c in cands:
        if c.rule.provider == "generic" and not any(
            c.start < o.end and o.start < c.end for o in specific
        ):
            out.append(c)
    return out


def variable_name(text: str, pos: int) -> str | None:
    """The variable or key whose value starts at ``pos`` (``GEMINI_API_KEY=…``, YAML pairs)."""
    nl = text.rfind("\n", max(0, pos - 300), pos)
    line_start = nl + 1 if nl >= 0 or pos <= 300 else -1  # -1: a long line, its start not sought
    before = text[max(line_start, pos - 300) : pos]
    m = _ASSIGN.search(before)
    if not m:
        return None
    name = m.group(1)
    if name.lower() in _GENERIC_VALUE_NAMES and line_start >= 0:
        # Kubernetes/compose style: "- name: OPENAI_API_KEY" then "value: sk-…"
        prev_end = line_start - 1
        for _ in range(3):
            if prev_end <= 0:
                break
            prev_start = text.rfind("\n", 0, prev_end) + 1
            pm = _YAML_NAME.match(text[prev_start:prev_end])
            if pm:
                return pm.group(1)
            prev_end = prev_start - 1
    return name
