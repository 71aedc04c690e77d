"""What scans a source's texts in one process: the ``Detection`` a scan was set up with, and the
``Scanner`` each process keeps (engine, packs, byte gate). Also the ``Source`` protocol every
source implements, and the order findings are reported in."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Protocol

from ..detect.engine import Engine
from ..detect.gate import byte_gate
from ..model import Finding, Rule, ScanText, Stats, severity_rank
from ..sources.agent_paths import with_agent_files
from ..sources.sourcemaps import with_source_maps

if TYPE_CHECKING:
    from ..detect.prefilter import ByteGate


class Pack(Protocol):
    """An extra detector beside the rules engine (e.g. detect-secrets' generic detectors)."""

    rules: list[Rule]

    def scan(self, st: ScanText, stats: Stats | None = None) -> list[Finding]: ...


class Source(Protocol):
    """Where texts come from. ``items`` are walked here (files, blobs, URLs); ``texts`` turns a
    batch of them into ``ScanText`` in whichever process scans it; ``refine`` sees all the
    findings once every batch is done (attribute blobs to commits, keep what a change adds)."""

    pool_min_items: int  # fewer items than this: scanned in this process (start-up time)
    pool_min_jobs: int  # fewer --jobs than this: scanned in this process
    # (optional) large_in_process: bool — with pool_min_items items or more, scanned in this
    # process all the same (a history): Hyperscan is compiled while it starts

    def items(self, stats: Stats) -> Iterator[Any]: ...

    def batches(self, items: Iterator[Any]) -> Iterator[list[Any]]: ...

    def stays_here(self, item: Any) -> bool: ...  # e.g. standard input: read by this process

    def texts(self, batch: Iterable[Any], stats: Stats, gate: ByteGate | None) -> Iterator[ScanText]: ...

    def refine(self, findings: list[Finding], stats: Stats, errors: list[str]) -> list[Finding]: ...


@dataclass
class Detection:
    """What finds keys: the rules, any opt-in packs, and whether raw bytes are gated first."""

    rules: list[Rule]
    packs: list[Pack] = field(default_factory=list)
    gate: bool = True

    @property
    def all_rules(self) -> list[Rule]:
        return self.rules + [r for p in self.packs for r in p.rules]

    def gate_for_bytes(self) -> ByteGate | None:
        """A gate for the rules' literals; none when a pack must see every text."""
        return byte_gate(self.rules) if self.gate and not self.packs else None


class Scanner:
    """One process's detector: an engine, the packs and the byte gate, kept across batches."""

    def __init__(self, detection: Detection, prepare: bool | str = False) -> None:
        """``prepare``: compile the Hyperscan databases now (e.g. before workers fork), or with
        ``"background"`` in a thread while the scan starts (a history: git starts meanwhile);
        the scan uses them once it is large enough to ask for them, waiting for the thread's
        compile if it is not done yet (a small scan never asks)."""
        self.detection = detection
        self.engine = Engine(detection.rules)
        self.gate = detection.gate_for_bytes()
        if prepare == "background":
            import threading

            threading.Thread(target=self._prepare, daemon=True).start()
        elif prepare:  # compiled once here, before workers fork
            self._prepare()

    def _prepare(self) -> None:
        """Hyperscan compiles without the GIL: the gate's database (the longest) in a thread
        beside the engine's."""
        import threading

        gate = threading.Thread(target=self.gate.prepare, daemon=True) if self.gate is not None else None
        if gate is not None:
            gate.start()
        self.engine.prepare()
        if gate is not None:
            gate.join()

    def scan(self, texts: Iterable[ScanText], stats: Stats) -> list[Finding]:
        """Findings of ``texts`` after the transforms every source shares (source maps)."""
        packs = self.detection.packs
        seen: set[tuple] = set()
        findings: list[Finding] = []
        for st in with_agent_files(with_source_maps(iter(texts), stats), stats):
            found = self.engine.scan(st, stats)
            if packs:
                from ..detect.generic import without_overlap

                for pack in packs:
                    found += without_overlap(pack.scan(st, stats), found)
            locate = getattr(st, "locate", None)  # a source map adds each finding's original place
            if locate is not None:
                locate(found)
            for f in found:
                k = finding_key(f)
                if k in seen:  # the overlap between two chunks of one file
                    continue
                seen.add(k)
                findings.append(f)
        return findings


def finding_key(f: Finding) -> tuple:
    return (f.path, (f.commit or {}).get("sha"), f.rule.id, f.line, f.column, f.secret_sha256,
            (f.origin or {}).get("encoding"))


def sort_key(f: Finding) -> tuple:
    return (f.path, f.line, f.column, -severity_rank(f.severity), f.rule.id)
