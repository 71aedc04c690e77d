"""The filter stage after the engine: skipped paths, allowed fingerprints, baselines.

``Finding``s in, the ones still to report out; each one dropped is counted in
``Stats.suppressed`` under ``skipped-path``, ``allowed`` or ``baseline``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .baseline import Baseline
from ..model import Finding, Stats
from ..config.pathspec import PathSpec


@dataclass
class Suppressor:
    skip: PathSpec = field(default_factory=PathSpec)
    allowed: dict[str, str] = field(default_factory=dict)  # fingerprint -> reason
    baseline: Baseline | None = None

    def reason(self, f: Finding) -> str | None:
        if self.skip and self.skip.match(f.path):
            return "skipped-path"
        if f.fingerprint in self.allowed:
            return "allowed"
        if self.baseline is not None and f in self.baseline:
            return "baseline"
        return None

    def apply(self, findings: list[Finding], stats: Stats) -> list[Finding]:
        kept = []
        for f in findings:
            why = self.reason(f)
            if why:
                stats.suppress(why)
            else:
                kept.append(f)
        return kept
