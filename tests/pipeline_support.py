"""Run the pipeline on texts a test made, or on files, in this process or in workers."""
from __future__ import annotations

from typing import Iterable, Iterator

from keyguard.model import Finding, Rule, ScanResult, ScanText, Stats
from keyguard.pipeline.run import run
from keyguard.pipeline.scanner import Detection, Scanner, sort_key
from keyguard.sources.files import FilesSource


class TextsSource:
    """Texts a test built, scanned as any source's are (source maps, decoding, filters)."""

    pool_min_items = 0
    pool_min_jobs = 1 << 30

    def __init__(self, texts: Iterable[ScanText]) -> None:
        self._texts = texts

    def items(self, stats: Stats) -> Iterator[None]:
        return iter([None])

    def batches(self, items):
        yield list(items)

    def stays_here(self, item) -> bool:
        return True

    def texts(self, batch, stats, gate) -> Iterable[ScanText]:
        return self._texts

    def refine(self, findings, stats, errors):
        return findings


def scan_texts(texts: Iterable[ScanText], rules: list[Rule], stats: Stats) -> list[Finding]:
    found = Scanner(Detection(rules)).scan(texts, stats)
    return sorted(found, key=sort_key)


def run_texts(texts: Iterable[ScanText], rules: list[Rule], stats: Stats, root: str | None = None) -> ScanResult:
    return run([TextsSource(texts)], Detection(rules), stats, 1, root)


def run_files(targets: list[str], rules: list[Rule], stats: Stats, jobs: int, root: str | None = None) -> ScanResult:
    return run([FilesSource(targets)], Detection(rules), stats, jobs, root)
