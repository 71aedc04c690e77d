"""The engine: keyword prefilter, then each rule's regex only in windows around keyword hits.

Input is a ``ScanText``; output is a list of ``Finding``. Placeholders, allow markers and entropy
are judged here (``judge``) because they need the surrounding text; baselines and config come
later in the pipeline.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from ..budget import OverBudget, time_budget
from ..model import Finding, Rule, ScanText, Stats
from . import judge
from .base64 import decoded_run, mostly_printable, runs_to_decode
from .context import (
    REACH, LineIndex, PathContext, context_near, context_only, credential_name, line_end, line_start,
    variable_name,
)
from .hyperscan import RuleEnds, narrow, utf8_of
from .prefilter import (
    HYPERSCAN_AFTER_TEXTS, HYPERSCAN_MIN_CHARS, HyperscanPrefilter, Prefilter, PythonPrefilter,
    base64_fingerprints, hyperscan_available,
)

_TOKEN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
REGEX_BUDGET_SECONDS = 5.0  # one rule on one text
# one user rule (``--rules``) over the whole scan, so that a regex that stays just under the
# per-text budget cannot hold up a scan of many files; built-in rules are vetted by the tests
USER_RULE_BUDGET_SECONDS = 30.0
# Hyperscan's rule ends narrow the regex windows of texts with at least this many keyword hits
# (minified bundles: thousands), once this many came in texts whose lines are this long on average
RULE_ENDS_MIN_HITS = 16
RULE_ENDS_AFTER_HITS = 25_000  # each 8,000 hits saved 0.03-0.05 s; compiling costs 0.06-0.1 s
RULE_ENDS_LINE_CHARS = 256
# a text whose path names a provider (``deepseek/x.py``) is searched whole for its context rules
PATH_CONTEXT_MAX_CHARS = 2_000_000


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
        self._path_rules = PathContext(rules)
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
            utf8 = st.utf8 if st.utf8 is not None else utf8_of(text)
            kw_hits, b64_hits = prefilter.find(text, utf8)
        else:
            kw_hits, b64_hits = prefilter.find(text)
        findings = []
        whole = (self._path_rules(st.path) if st.path and st.whole and len(text) <= PATH_CONTEXT_MAX_CHARS
                 else frozenset())  # not a piece (``st.whole`` false) of a text over the size
        if kw_hits or whole:
            lines = LineIndex(text)
            for c in self._candidates(text, kw_hits, self._ends(text, len(kw_hits), utf8), whole):
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
            # long lines on average? judged on the text's first MiB (a whole map: 19 MB)
            head = min(len(text), 1 << 20)
            if head < RULE_ENDS_LINE_CHARS * (text.count("\n", 0, head) + 1):
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
        whole: frozenset[int] = frozenset(),
    ) -> list[Candidate]:
        """``whole``: rules searched over the whole text, their context given by its path."""
        hits: dict[int, list[tuple[int, int]]] = {i: [] for i in whole}
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
                    raise OverBudget()
                with time_budget(budget):
                    out += self._match_rule(rule, text, hits[i], rule_ends, i in whole)
            except OverBudget:
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
        if context_only(rule):
            # context-only rule: the key sits on the context word's line or a few lines above
            # or below it (a secret counts only within REACH of a context word: see context_near)
            for pos, _ in hits:
                start = line_start(text, pos, above=rule.context_lines, reach=REACH + rule.max_width)
                end = line_end(text, pos, below=rule.context_lines, reach=REACH + rule.max_width)
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
        whole: bool = False,
    ) -> list[Candidate]:
        """``whole``: search all of ``text``; where no context word stands near a match, the
        path's stands in for it if the match is assigned to a credential's name (``api_key =``)."""
        found: list[Candidate] = []
        seen: set[tuple[int, int]] = set()
        windows = [(0, len(text))] if whole else self._windows(rule, text, hits)
        if ends is not None:
            windows = narrow(windows, ends, rule.max_width)
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
                if rule.context and not context_near(text, s, rule, e) and not (
                        whole and credential_name(variable_name(text, s))):
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
        line_start_, line_end_ = line_start(text, c.start), line_end(text, c.end)
        if judge.has_allow_marker(text[line_start_:line_end_]):
            _suppress(stats, "allow-marker")
            return None
        if rule.min_entropy and judge.shannon_entropy(c.secret) < rule.min_entropy:
            _suppress(stats, "low-entropy")
            return None
        if judge.placeholder_reason(c.secret, rule.keywords):
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
        """Findings in the decoded text of the base64 runs worth decoding (see ``base64``)."""
        text = st.text
        context_at = [pos for ki, pos in kw_hits if self._keywords[ki] in self._context_kw]
        out: list[Finding] = []
        lines = LineIndex(text)
        for rs, re_ in runs_to_decode(text, [pos for _, pos in b64_hits], context_at):
            if any(s <= rs and re_ <= e for s, e in st.decoded_elsewhere):
                continue
            run = decoded_run(text, rs, re_)
            if run is None:
                continue
            raw, decoded = run
            # keep the lines above and below the run, so context words such as the variable
            # name still count for keys with no distinctive prefix
            prefix = text[line_start(text, rs, above=3):rs]
            suffix = text[re_:line_end(text, re_, below=3)]
            combined = prefix + decoded + suffix
            # the same prefilter as any text (Hyperscan once started, on the bytes just decoded);
            # whether the run is text at all is asked only of one that holds a keyword
            prefilter = self._prefilter(combined)
            utf8 = None
            if isinstance(prefilter, HyperscanPrefilter):
                head, tail = utf8_of(prefix), utf8_of(suffix)
                utf8 = head + raw + tail if head is not None and tail is not None else None
                hits, _ = prefilter.find(combined, utf8)
            else:
                hits, _ = prefilter.find(combined)
            if not hits or not mostly_printable(raw, len(decoded)):
                continue
            combined_lines = LineIndex(combined)
            for c in self._candidates(combined, hits, self._ends(combined, len(hits), utf8)):
                if not len(prefix) <= c.start < len(prefix) + len(decoded):
                    continue
                f = self._judge(c, combined, st, stats, combined_lines, origin_extra={"encoding": "base64"})
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
    from ..ruleset.load import RuleError, builtin_rules_dir

    try:
        return str(builtin_rules_dir())
    except RuleError:
        return ""


def _suppress(stats: Stats | None, reason: str) -> None:
    if stats is not None:
        stats.suppress(reason)


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


def _prefer_specific(cands: list[Candidate]) -> list[Candidate]:
    """Drop a generic rule's candidate where a provider rule matched an overlapping span, and a
    shared-shape candidate (no context word, less than high confidence: ``sk-`` + 32 hex) where a
    rule that needed its provider's word, or a high-confidence one, matched the same span."""
    named = {(c.start, c.end) for c in cands if c.rule.context or c.rule.confidence == "high"}
    if named:
        cands = [c for c in cands if c.rule.context or c.rule.confidence == "high" or (c.start, c.end) not in named]
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
