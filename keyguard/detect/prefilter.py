"""Multi-literal prefilter: where do the rules' keywords occur in a text?

One small interface, two engines with identical results:
- ``PythonPrefilter``: ``str.find`` per literal (portable, fastest for small inputs);
- ``HyperscanPrefilter``: one pass of Hyperscan over the UTF-8 bytes (large inputs), used when
  the ``hyperscan`` wheel is installed.

Two literal sets are searched: keywords (ASCII case-insensitive) and base64 fingerprints of the
keywords (exact case), which tell the engine which base64 runs are worth decoding.
"""
from __future__ import annotations

import base64
import functools
import re
import threading
from typing import Any, Callable, Protocol


HYPERSCAN_MIN_CHARS = 256 * 1024  # below this in all, start-up and call overhead beat Hyperscan
HYPERSCAN_AFTER_TEXTS = 64  # ...unless many texts come: then compiling the database pays off
# a base64 run: what the engine decodes; fingerprints count only inside one of these
B64_RUN = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
@functools.lru_cache(maxsize=None)  # the engine and the byte gate both ask, for every keyword
def base64_fingerprints(keyword: str, min_len: int = 4) -> frozenset[str]:
    """Substrings that the base64 encoding of any text containing ``keyword`` must contain.

    For each of the three byte alignments, encode the keyword and keep only the characters that
    depend on the keyword's bytes alone. Case variants cover ``deepseek``/``DEEPSEEK``.
    """
    out: set[str] = set()
    for variant in {keyword, keyword.lower(), keyword.upper()}:
        raw = variant.encode()
        for align in range(3):
            enc = base64.b64encode(b"\0" * align + raw).decode().rstrip("=")
            head = (0, 2, 3)[align]
            total = align + len(raw)
            tail = 1 if total % 3 else 0
            core = enc[head : len(enc) - tail]
            if len(core) >= min_len:
                out.add(core)
    return frozenset(out)


_PATH_WORD = re.compile(r"[a-z0-9]+")

class Prefilter(Protocol):
    def find(self, text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(keyword hits, base64 hits) as lists of (literal index, char offset)."""


class PythonPrefilter:
    """``str.find`` per keyword; base64 fingerprints looked for only inside base64 runs."""

    def __init__(self, keywords: list[str], b64: list[str]) -> None:
        self.keywords = [k.lower() for k in keywords]
        self.keywords_b = [k.encode() for k in self.keywords]
        self.b64 = b64

    def find(self, text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        if text.isascii():
            kw = _find_all(text.lower(), self.keywords)
        else:  # lower-case ASCII only, on the UTF-8 bytes, as Hyperscan's caseless mode does
            data = text.encode("utf-8", "surrogatepass")
            kw = bytes_to_chars(data, _find_all(data.lower(), self.keywords_b))
        b64: list[tuple[int, int]] = []
        if self.b64:
            for m in B64_RUN.finditer(text):
                run = m.group(0)
                for i, pos in _find_all(run, self.b64):
                    b64.append((i, m.start() + pos))
        return kw, b64


def _find_all(haystack, needles) -> list[tuple[int, int]]:  # str or bytes
    hits = []
    for i, needle in enumerate(needles):
        pos = haystack.find(needle)
        while pos >= 0:
            hits.append((i, pos))
            pos = haystack.find(needle, pos + 1)
    return hits


def compiled(hs: Any, expressions: list[bytes], flags: list[int], mode: int,
             literal: bool = False, ids: list[int] | None = None) -> Any:
    """A Hyperscan database of ``expressions`` (ids: their indexes unless given). Raises what
    ``Database.compile`` raises for expressions it refuses."""
    db = hs.Database(mode=mode)
    kw = {"literal": True} if literal else {}
    db.compile(expressions=expressions, ids=list(range(len(expressions))) if ids is None else ids,
               elements=len(expressions), flags=flags, **kw)
    return db


class HyperscanPrefilter:
    def __init__(self, keywords: list[str], b64: list[str]) -> None:
        import hyperscan

        self._hs = hyperscan
        self.n_kw = len(keywords)
        literals = [k.encode() for k in keywords] + [b.encode() for b in b64]
        flags = [hyperscan.HS_FLAG_CASELESS] * len(keywords) + [0] * len(b64)
        self.db = compiled(hyperscan, literals, flags, hyperscan.HS_MODE_BLOCK, literal=True)
        self.lengths = [len(x) for x in literals]

    def find(self, text: str, utf8: bytes | None = None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """``utf8``: the text's UTF-8 encoding, if the caller has it."""
        data = utf8 if utf8 is not None else text.encode("utf-8", "surrogatepass")
        raw: list[tuple[int, int]] = []
        lengths = self.lengths

        def on_match(idx: int, start: int, end: int, flags: int, ctx: object) -> None:
            raw.append((idx, end - lengths[idx]))

        self.db.scan(data, match_event_handler=on_match)
        if len(data) != len(text):  # non-ASCII: map byte offsets to character offsets
            raw = bytes_to_chars(data, raw)
        kw = [(i, p) for i, p in raw if i < self.n_kw]
        b64 = [(i - self.n_kw, p) for i, p in raw if i >= self.n_kw]
        return kw, b64


def bytes_to_chars(data: bytes, hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    last_b = last_c = 0
    for i, b in sorted(hits, key=lambda h: h[1]):
        last_c += len(data[last_b:b].decode("utf-8", "surrogatepass"))
        last_b = b
        out.append((i, last_c))
    return out


def hyperscan_available() -> bool:
    """Is the wheel installed? Looked up without importing it (7 ms of start-up)."""
    from importlib.machinery import PathFinder  # already loaded; importlib.util is not

    return PathFinder.find_spec("hyperscan") is not None


def rule_literals(keyword_lists: list[tuple[str, ...]], decode_base64: bool = True) -> tuple[list[str], list[str]]:
    """(lower-case keywords, base64 fingerprints) that the engine's prefilter looks for."""
    keywords: dict[str, None] = {}
    b64: set[str] = set()
    for kws in keyword_lists:
        for kw in kws:
            keywords.setdefault(kw.lower())
            if decode_base64:
                b64 |= base64_fingerprints(kw)
    return list(keywords), sorted(b64)


class ByteGate:
    """Can these raw bytes hold a finding at all? Asked before a file is decoded.

    A necessary condition, never a sufficient one: if neither a keyword (ASCII caseless) nor a
    base64 fingerprint occurs in the bytes, the engine cannot report anything for the UTF-8
    decoding of them, because decoding with replacement keeps every ASCII byte as it is. The
    same literals encoded as UTF-16LE answer the question for the strings read from binaries.
    Only for ASCII literals; ``for_literals`` returns None otherwise.

    With Hyperscan, a whole buffer is asked a narrower question: ``patterns()`` gives rule
    patterns and the keywords they stand in for (see ``keyguard.detect.hyperscan.gate_patterns``; asked
    only once Hyperscan starts), so a file full of ``token`` passes only if a rule that needs
    ``token`` can match in it, and a base64 fingerprint counts only inside a base64 run long
    enough to be decoded. Blocks of a large file (``part``), and the plain path, ask for every
    literal.
    """

    def __init__(self, keywords: list[str], b64: list[str],
                 patterns: Callable[[], tuple[list[bytes], set[str]]] | None = None) -> None:
        self.n = len(keywords) + len(b64)
        self._literals = [k.encode() for k in keywords] + [b.encode() for b in b64]
        self._caseless = [True] * len(keywords) + [False] * len(b64)
        self._make_patterns = patterns
        self._patterns: list[bytes] = []
        self._replaced: set[bytes] = set()
        self._dbs: dict[str, object] = {}  # Hyperscan databases by question, compiled when first asked
        self._hs: object = None
        self._checked = self._checked_bytes = 0
        self._fast = hyperscan_available()
        self._lock = threading.RLock()
        self.path_words: frozenset[str] = frozenset()  # see ``opens``
        self._named_folders: dict[str, bool] = {}

    def _start_hyperscan(self) -> None:
        """From now on Hyperscan answers: once a scan proves big enough to repay import and compile.
        (Also from a thread that prepares the gate while the scan starts: see ``_lock``.)"""
        with self._lock:
            if not self._fast:  # started already
                return
            try:
                import hyperscan
            except ImportError:  # installed but unloadable: str.find it is
                self._fast = False
                return
            if self._make_patterns is not None:
                patterns, replaced = self._make_patterns()
                self._patterns, self._replaced = list(patterns), {k.encode() for k in replaced}
            self._terminated = hyperscan.ScanTerminated
            self._hs = hyperscan
            self._fast = False

    def _db(self, question: str) -> object:
        """The database for ``narrow`` (every literal), ``wide`` (every literal in UTF-16LE) or
        ``whole`` (patterns, kept keywords, then base64 fingerprints)."""
        db = self._dbs.get(question)
        if db is not None:
            return db
        with self._lock:  # one compile of each, however many threads ask
            db = self._dbs.get(question)
            return db if db is not None else self._compile(question)

    def _compile(self, question: str) -> object:
        hs = self._hs
        # the first match of a keyword or pattern answers (the scan stops there): one match
        # each (faster to compile and to scan); every match of a base64 fingerprint is looked at
        one = hs.HS_FLAG_SINGLEMATCH  # type: ignore[attr-defined]
        caseless = hs.HS_FLAG_CASELESS | one  # type: ignore[attr-defined]
        flags = [caseless if c else one for c in self._caseless]
        # the literal API reads expressions as C strings (NUL ends them): the literals go in as
        # regexes of escaped bytes instead (and compile faster that way)
        if question == "narrow":
            expressions = [escaped_literal(x) for x in self._literals]
        elif question == "wide":
            expressions = [escaped_literal(x.decode().encode("utf-16-le")) for x in self._literals]
        else:
            kept = [x for x, c in zip(self._literals, self._caseless) if c and x not in self._replaced]
            fingerprints = [x for x, c in zip(self._literals, self._caseless) if not c]
            expressions = self._patterns + [escaped_literal(x) for x in kept + fingerprints]
            flags = [one] * len(self._patterns) + [caseless] * len(kept) + [0] * len(fingerprints)
            self._whole = (len(self._patterns) + len(kept), [len(x) for x in fingerprints])
        try:
            db = compiled(hs, expressions, flags, hs.HS_MODE_BLOCK)  # type: ignore[attr-defined]
        except hs.error:  # type: ignore[attr-defined]
            if question != "whole":
                raise
            self._patterns = []  # a pattern Hyperscan refuses: every literal is asked instead
            db = self._db("narrow")
        self._dbs[question] = db
        return db

    def _passes_whole(self, data: bytes) -> bool:
        db = self._db("whole")
        if not self._patterns:  # they would not compile
            return self._any("narrow", data)
        stop, lengths = self._whole

        def on_match(i: int, start: int, end: int, flags: int, ctx: object) -> bool:
            return i < stop or _in_base64_run(data, end - lengths[i - stop], end)

        try:
            db.scan(data, match_event_handler=on_match)  # type: ignore[attr-defined]
        except self._terminated:
            return True
        return False

    def opens(self, path: str) -> bool:
        """Does ``path`` name a provider whose rules take it as context (``deepseek/config.py``)?
        Then any text in the file may hold a key: it is not gated. A folder's answer is kept:
        every file of a scan asks."""
        if not self.path_words:
            return False
        folder, _, name = path.lower().rpartition("/")
        named = self._named_folders.get(folder)
        if named is None:
            if len(self._named_folders) >= 1 << 16:  # bounded, whatever the tree
                self._named_folders.clear()
            named = self._named_folders[folder] = not self.path_words.isdisjoint(_PATH_WORD.findall(folder))
        return named or not self.path_words.isdisjoint(_PATH_WORD.findall(name))

    @classmethod
    def for_literals(cls, keywords: list[str], b64: list[str],
                     patterns: Callable[[], tuple[list[bytes], set[str]]] | None = None) -> ByteGate | None:
        if not keywords or not all(x.isascii() for x in keywords + b64):
            return None
        if max(len(x) for x in keywords + b64) * 2 >= 1024:  # see files.GATE_OVERLAP
            return None
        return cls(keywords, b64, patterns)

    def _any(self, question: str, data: bytes) -> bool:
        try:
            self._db(question).scan(data, match_event_handler=_stop)  # type: ignore[attr-defined]
        except self._terminated:
            return True
        return False

    def reads_in_place(self) -> bool:
        """Is a whole large file worth asking at once? (With Hyperscan, which asks the rules'
        patterns in one pass; the plain path would copy it to lower-case it.)"""
        if self._fast:
            self._start_hyperscan()
        return self._hs is not None

    def prepare(self) -> None:
        """Compile what a large scan will ask for now (e.g. before worker processes fork)."""
        if self.reads_in_place():
            self._db("whole" if self._patterns else "narrow")

    def check(self, data: bytes, wide: bool = False, part: bool = False) -> tuple[bool, bool]:
        """(a literal occurs as UTF-8/ASCII, one occurs as UTF-16LE — looked for only if ``wide``).
        ``part``: ``data`` is one block of a larger file, not the whole of it."""
        self._checked += 1
        self._checked_bytes += len(data)
        if self._fast and (self._checked_bytes >= HYPERSCAN_MIN_CHARS or self._checked > HYPERSCAN_AFTER_TEXTS):
            self._start_hyperscan()
        if self._hs is not None:
            narrow = self._passes_whole(data) if self._patterns and not part else self._any("narrow", data)
            return narrow, wide and self._any("wide", data)
        lowered = data.lower()
        narrow = any((c and lit in lowered) or (not c and lit in data)
                     for lit, c in zip(self._literals, self._caseless))
        if not wide:
            return narrow, False
        return narrow, any(
            (c and lit.decode().encode("utf-16-le") in lowered)
            or (not c and lit.decode().encode("utf-16-le") in data)
            for lit, c in zip(self._literals, self._caseless)
        )


_BASE64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _in_base64_run(data: bytes, start: int, end: int) -> bool:
    """Is ``data[start:end]`` inside a run of base64 characters that the engine would decode
    (24 characters with its ``=`` padding, so at least 22 without)?"""
    before = data[max(0, start - 22):start]
    after = data[end:end + 22]
    run = len(before) - len(before.rstrip(_BASE64_CHARS)) + end - start + len(after) - len(after.lstrip(_BASE64_CHARS))
    return run >= 22


def escaped_literal(literal: bytes) -> bytes:
    """A Hyperscan pattern that matches exactly these bytes."""
    return b"".join(b"\\x%02x" % c for c in literal)


def _stop(idx: int, start: int, end: int, flags: int, ctx: object) -> bool:
    return True  # the first match answers the question: stop scanning
