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
import re
from typing import Protocol

HYPERSCAN_MIN_CHARS = 256 * 1024  # below this, start-up and call overhead beat Hyperscan
HYPERSCAN_AFTER_TEXTS = 64  # ...unless many texts come: then compiling the database pays off
# a base64 run: what the engine decodes; fingerprints count only inside one of these
B64_RUN = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only, so that offsets stay the same as in ``text``."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def base64_fingerprints(keyword: str, min_len: int = 4) -> set[str]:
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
    return out


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
            kw = _bytes_to_chars(data, _find_all(data.lower(), self.keywords_b))
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


class HyperscanPrefilter:
    def __init__(self, keywords: list[str], b64: list[str]) -> None:
        import hyperscan

        self._hs = hyperscan
        self.n_kw = len(keywords)
        literals = [k.encode() for k in keywords] + [b.encode() for b in b64]
        flags = [hyperscan.HS_FLAG_CASELESS] * len(keywords) + [0] * len(b64)
        self.db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self.db.compile(
            expressions=literals, ids=list(range(len(literals))), elements=len(literals),
            flags=flags, literal=True,
        )
        self.lengths = [len(x) for x in literals]

    def find(self, text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        data = text.encode("utf-8", "surrogatepass")
        raw: list[tuple[int, int]] = []
        lengths = self.lengths

        def on_match(idx: int, start: int, end: int, flags: int, ctx: object) -> None:
            raw.append((idx, end - lengths[idx]))

        self.db.scan(data, match_event_handler=on_match)
        if len(data) != len(text):  # non-ASCII: map byte offsets to character offsets
            raw = _bytes_to_chars(data, raw)
        kw = [(i, p) for i, p in raw if i < self.n_kw]
        b64 = [(i - self.n_kw, p) for i, p in raw if i >= self.n_kw]
        return kw, b64


def _bytes_to_chars(data: bytes, hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    last_b = last_c = 0
    for i, b in sorted(hits, key=lambda h: h[1]):
        last_c += len(data[last_b:b].decode("utf-8", "surrogatepass"))
        last_b = b
        out.append((i, last_c))
    return out


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True
