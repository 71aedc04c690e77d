"""Base64 runs worth decoding, and their decoded text.

A key may be stored base64-encoded (a Kubernetes Secret, a data: URL, a config blob). The
prefilter reports where a keyword's base64 fingerprint occurs; a run is decoded only if it holds
one, or if it sits where a context-only rule's word was seen (``OPENAI_KEY: c2stcHJvai0…``).

Every step is linear in a run's length and done in C (binascii, the UTF-8 codec, bytes
methods), never a Python loop over its characters: published bundles hold megabytes of base64
(inline source maps, fonts, wasm), and the engine asks whether a decoded run holds a keyword
(with the same prefilter as any text) before it asks whether the run is text at all.
"""
from __future__ import annotations

import base64
import binascii
import re

from .context import REACH, line_end, line_start
from .prefilter import B64_RUN

MIN_RUN = 24  # shorter runs cannot hold a key worth decoding
_B64_CHARS = re.compile(r"[A-Za-z0-9+/]*")
_B64_PAD = re.compile(r"={0,2}")


def runs_to_decode(text: str, fingerprint_at: list[int], context_word_at: list[int]) -> list[tuple[int, int]]:
    """The maximal base64 runs (start, end) that hold a fingerprint, or that start on a context
    word's line, the 3 above or the 3 below it (within ``4 * REACH`` of the word); each run once."""
    starts = list(fingerprint_at)
    windows = sorted((line_start(text, pos, above=3, reach=4 * REACH), line_end(text, pos, below=3, reach=4 * REACH))
                     for pos in context_word_at)
    searched = 0  # each part of the text searched once however many words
    for ws, we in windows:
        ws = max(ws, searched)
        if ws < we:
            starts += [m.start() for m in B64_RUN.finditer(text, ws, we)]
            searched = we
    # a long run holds many hits, and finding its ends costs its length
    runs: list[tuple[int, int]] = []
    for pos in sorted(starts):
        if runs and runs[-1][0] <= pos < runs[-1][1]:
            continue
        runs.append(run_at(text, pos))
    return sorted(r for r in set(runs) if r[1] - r[0] >= MIN_RUN)


def run_at(text: str, pos: int) -> tuple[int, int]:
    """The maximal base64 run (with its ``=`` padding) around ``pos``; linear in its length."""
    start, size = pos, 64
    while start > 0:  # back to the last character that is not base64, in growing pieces
        piece_start = max(0, start - size)
        # the base64 characters at the piece's end, matched on the piece reversed (searching
        # forward for the last other character tries a match at every position: 10x slower)
        back = _B64_CHARS.match(text[piece_start:start][::-1]).end()  # type: ignore[union-attr]
        if back < start - piece_start:
            start -= back
            break
        start, size = piece_start, min(size * 2, 1 << 16)
    end = _B64_CHARS.match(text, pos).end()  # type: ignore[union-attr]
    end = _B64_PAD.match(text, end).end()  # type: ignore[union-attr]
    return start, end


def decoded_run(text: str, start: int, end: int) -> tuple[bytes, str] | None:
    """The bytes of the base64 run ``text[start:end]`` and their text, if they are 16 bytes or
    more of UTF-8 (printable or not: see ``mostly_printable``)."""
    body = text[start:end].rstrip("=")
    if len(body) % 4 == 1:
        return None
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 16:
        return None
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


# printable ASCII, and the three controls a text holds
_TEXT_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n\r"
_ASCII = bytes(range(0x80))
_NOT_ASCII = bytes(range(0x80, 0x100))


def mostly_printable(raw: bytes, chars: int) -> bool:
    """Are at least 95% of the ``chars`` characters of the UTF-8 text ``raw`` printable (as
    ``str.isprintable`` judges them) or tab, newline, carriage return? The printable ASCII bytes
    are deleted (``bytes.translate``); only what remains, controls and non-ASCII, is looked at,
    and its characters one by one only if that could change the answer."""
    rest = raw.translate(None, _TEXT_ASCII)
    bad = len(rest)  # ASCII controls, each one character
    if bad and not rest.isascii():
        controls = len(rest.translate(None, _NOT_ASCII))
        wide = rest.translate(None, _ASCII).decode("utf-8")  # whole characters deleted: still UTF-8
        bad = controls + len(wide)
        if chars - bad < chars * 0.95:
            bad = controls + (0 if wide.isprintable() else sum(1 for ch in wide if not ch.isprintable()))
    return not chars - bad < chars * 0.95
