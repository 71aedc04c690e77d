"""The data types that flow through the pipeline.

sources -> ``ScanText`` -> detect -> ``Finding`` -> findings (filters) -> verify -> report
(``ScanResult``). Each stage only knows these types, never another stage's internals.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("low", "medium", "high", "critical")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Example:
    text: str
    note: str = ""


@dataclass
class Rule:
    id: str
    provider: str
    name: str
    description: str
    regex: str
    keywords: tuple[str, ...]
    severity: str
    remediation: str
    context: tuple[str, ...] = ()
    context_lines: int = 3
    min_entropy: float = 0.0
    confidence: str = "high"
    references: tuple[str, ...] = ()
    positives: tuple[str, ...] = ()
    negatives: tuple[str, ...] = ()
    source: str = ""  # the file the rule was loaded from
    # filled in by the loader
    max_width: int = 0
    multiline: bool = False  # can the regex match across a newline?
    # the compiled regex, made when first used: a scan touches only the rules whose keywords
    # occur, and compiling all of them is most of a hook's start-up
    _compiled: Any = field(default=None, repr=False, compare=False)

    @property
    def compiled(self) -> Any:
        if self._compiled is None:
            self._compiled = re.compile(self.regex)
        return self._compiled


@dataclass
class ScanText:
    """Decoded text with its provenance, as a source yields it."""

    text: str
    path: str  # display path: relative to a scanned dir, as given for a file, the URL for web
    abs_path: str | None = None  # real file path on disk, if any
    line_offset: int = 0  # number of lines before this text in the artifact (chunked files)
    column_offset: int = 0  # characters before this text on its first line (chunked lines)
    commit: dict[str, Any] | None = None
    origin: dict[str, Any] | None = None  # e.g. encoding, source-map original
    root: str | None = None  # the scanned directory this path is relative to
    whole: bool = True  # False for each chunk of an artefact read in parts (large files)
    # ``text.encode("utf-8")`` when the source still holds those bytes (saves encoding it again)
    utf8: bytes | None = field(default=None, repr=False, compare=False)
    # spans a transform decoded and scanned itself (an inline source map's base64): not again
    decoded_elsewhere: tuple[tuple[int, int], ...] = ()


@dataclass
class Finding:
    rule: Rule
    secret: str
    path: str
    line: int
    column: int
    end_column: int
    severity: str
    end_line: int = 0
    commit: dict[str, Any] | None = None
    origin: dict[str, Any] = field(default_factory=dict)
    verification: dict[str, Any] | None = None
    root: str | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def rule_id(self) -> str:
        return self.rule.id

    @property
    def secret_sha256(self) -> str:
        return hashlib.sha256(self.secret.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def fingerprint(self) -> str:
        """Content-based: the same key found by the same rule is one fingerprint anywhere."""
        return hashlib.sha256(f"{self.rule.id}:{self.secret_sha256}".encode()).hexdigest()[:32]

    @property
    def redacted(self) -> str:
        return redact(self.secret, self.rule.keywords)


def redact(secret: str, prefixes: tuple[str, ...] = ()) -> str:
    """A known prefix (``sk-proj-``, ``AIza``, ``hf_``) plus the last few characters."""
    s = secret
    if len(s) <= 12:
        return s[:2] + "…" if len(s) > 6 else "…"
    head = ""
    for p in sorted(prefixes, key=len, reverse=True):
        if s.startswith(p) and len(p) <= len(s) // 3:
            head = p
            break
    if not head:
        m = re.match(r"(?:[a-z]{1,8}[-_]){1,3}", s)
        if m and m.end() <= len(s) // 3:
            head = m.group(0)
    tail = 4 if len(s) >= 24 else 2
    return head + "…" + s[-tail:]


@dataclass
class Stats:
    files: int = 0
    bytes: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_paths: list[dict[str, str]] = field(default_factory=list)
    findings: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def skip(self, path: str, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if len(self.skipped_paths) < 1000:
            self.skipped_paths.append({"path": path, "reason": reason})

    def suppress(self, reason: str) -> None:
        self.suppressed[reason] = self.suppressed.get(reason, 0) + 1

    def merge(self, other: Stats) -> None:
        """Add another part of the same scan (a worker's batch) to these numbers."""
        self.files += other.files
        self.bytes += other.bytes
        for reason, n in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + n
        room = 1000 - len(self.skipped_paths)
        self.skipped_paths.extend(other.skipped_paths[: max(0, room)])
        for reason, n in other.suppressed.items():
            self.suppressed[reason] = self.suppressed.get(reason, 0) + n

    def as_dict(self) -> dict[str, Any]:
        d = {
            "files": self.files,
            "bytes": self.bytes,
            "findings": self.findings,
            "skipped": dict(sorted(self.skipped.items())),
            "skipped_paths": self.skipped_paths,
            "suppressed": dict(sorted(self.suppressed.items())),
            "seconds": round(self.seconds, 3),
        }
        d.update(self.extra)
        return d


@dataclass
class ScanResult:
    """What a scan produced, as every reporter reads it."""

    findings: list[Finding]
    stats: Stats
    rules: list[Rule]
    root: str | None = None  # the one scanned directory, if there was exactly one
    errors: list[str] = field(default_factory=list)
