"""A one-line progress display on standard error, for scans long enough to need one.

Only on a terminal, and only once a scan has run for ``KEYGUARD_PROGRESS_DELAY`` seconds (1 by
default): a pre-commit hook or a small scan never shows it, and it never reaches a report, a
pipe or a log file. The line is redrawn in place at most ten times a second and erased at the end.
"""
from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Iterable, Iterator, TextIO, TypeVar

if TYPE_CHECKING:
    from .model import Stats

T = TypeVar("T")

_REDRAW = 0.1  # seconds between redraws


class Progress:
    def __init__(self, unit: str, stream: TextIO | None = None) -> None:
        self.unit = unit  # "files" or "blobs"
        self.stream = stream if stream is not None else sys.stderr
        try:
            self.on = self.stream.isatty()
            delay = float(os.environ.get("KEYGUARD_PROGRESS_DELAY", "1"))
        except (AttributeError, ValueError, OSError):
            self.on, delay = False, 1.0
        self.started = time.monotonic()
        self.show_at = self.started + max(0.0, delay)
        self.next_draw = self.show_at
        self.shown = False
        self.done = 0
        self.bytes = 0

    def update(self, done: int, nbytes: int) -> None:
        """``done`` files (or blobs) and ``nbytes`` bytes read so far."""
        self.done, self.bytes = done, nbytes
        if not self.on:
            return
        now = time.monotonic()
        if now < self.next_draw:
            return
        self.next_draw = now + _REDRAW
        rate = self.bytes / 1e6 / max(now - self.started, 1e-6)
        line = f"keyguard: {self.done:,} {self.unit}, {self.bytes / 1e6:,.1f} MB, {rate:,.1f} MB/s"
        self._write(f"\r{line}\x1b[K")
        self.shown = True

    def follow(self, items: Iterable[T], stats: Stats) -> Iterator[T]:
        """``items`` unchanged, the line updated from ``stats`` after each one."""
        for item in items:
            yield item
            if self.on:
                self.update(stats.files, stats.bytes)

    def clear(self) -> None:
        if self.shown:
            self._write("\r\x1b[K")
            self.shown = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.on = False
