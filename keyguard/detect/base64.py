"""Base64 runs worth decoding, and their decoded text.

A key may be stored base64-encoded (a Kubernetes Secret, a data: URL, a config blob). The
prefilter reports where a keyword's base64 fingerprint occurs; a run is decoded only if it holds
one, or if it sits where a context-only rule's word was seen (``OPENAI_KEY: c2stcHJvai0…``).
"""
from __future__ import annotations

import base64
import binascii
import re

from .context import REACH, line_end, line_start
from .prefilter import B64_RUN

MIN_RUN = 24  # shorter runs cannot hold a key worth decoding
_B64_CHARS = re.compile(r"[A-Za-z0-9+/]*")
_NOT_B64 = re.compile(r"[^A-Za-z0-9+/]")
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


def decoded_text(token: str) -> str | None:
    """The text a base64 run decodes to, if it is mostly printable UTF-8 of 16 bytes or more."""
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
