"""Agent files as a source: the texts of an agent config or transcript, and the known
locations under a home.

``agent_file_texts`` gives any scan (a directory, a git blob, a package's files) the texts of a
file ``agent_paths`` recognised; ``home_texts`` is ``scan --agents``: the known locations that
exist under the home directory, read-only, each file shown as ``~/…``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..model import Finding, ScanText, Stats
from . import agent_locations
from .agent_configs import ConfigValueText, config_texts
from .agent_paths import reader_for
from .transcripts import RecordText, record_texts, transcript_texts

MAX_CONFIG_BYTES = 64 * 1024 * 1024  # a larger "config" is left to the plain-text reader


def file_texts(path: str, display: str, stats: Stats | None = None, root: str | None = None,
               agent: str | None = None, kind: str | None = None) -> Iterator[ScanText]:
    """The texts of an agent file on disk (``kind``: "config" or "transcript"; judged by path
    when not given). A config that cannot be decoded as UTF-8 is read with replacement marks."""
    kind = kind or reader_for(path)
    if kind == "transcript":
        yield from transcript_texts(path, display, stats, root=root, agent=agent)
        return
    with open(path, "rb") as fh:
        raw = fh.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        if stats is not None:
            stats.skip(display, "agent config larger than 64 MiB")
        return
    yield from config_texts(raw.decode("utf-8", "replace"), display, stats, abs_path=path,
                            root=root, agent=agent)


_PACKAGE_DIRS = frozenset({"node_modules", "site-packages", "dist-packages"})


def is_published(path: str) -> bool:
    """A file inside an installed package (npm, pip): what its publisher shipped to everyone."""
    return not _PACKAGE_DIRS.isdisjoint(path.replace("\\", "/").split("/"))


def agent_file_texts(st: ScanText, stats: Stats) -> Iterator[ScanText]:
    """The texts of one text whose path is an agent file (``agent_paths.with_agent_files``): an
    agent config becomes one text per value and a transcript one text per record. A transcript
    read in chunks (a large file) is streamed again from disk, once, at its first chunk; a config
    too large to be read whole stays plain text."""
    kind = None if isinstance(st, (ConfigValueText, RecordText)) else reader_for(st.path)
    if kind == "config" and st.whole:
        # a git blob (history, --since, --staged) is read from no file on disk: its config is
        # in git, or about to be, and every clone holds it
        in_git = st.commit is not None or (st.abs_path is None and st.root is not None)
        yield from config_texts(st.text, st.path, stats, abs_path=st.abs_path, root=st.root,
                                commit=st.commit, in_git=in_git, published=is_published(st.path))
    elif kind == "transcript" and st.whole:
        yield from record_texts(st.text, st.path, stats, root=st.root, commit=st.commit,
                                abs_path=st.abs_path)
    elif kind == "transcript" and st.abs_path and st.commit is None:
        if st.line_offset == 0 and st.column_offset == 0:
            yield from transcript_texts(st.abs_path, st.path, stats, root=st.root)
    else:
        yield st


@dataclass
class AgentSummary:
    locations: list[str] = field(default_factory=list)  # ~/… paths that existed
    files: int = 0
    findings: int = 0


def home_texts(home: str, stats: Stats, codex_home: str | None = None,
               on_location: Callable[[agent_locations.Found], None] | None = None,
               ) -> tuple[dict[str, AgentSummary], Iterator[ScanText]]:
    """(summary per agent, the texts of every agent file under ``home``) — the summary's
    findings are counted by ``count_findings`` once the scan is done."""
    found = agent_locations.existing(home, codex_home)
    summary: dict[str, AgentSummary] = {}
    for f in found:
        summary.setdefault(f.location.agent, AgentSummary()).locations.append(_tilde(f.path, home))

    def texts() -> Iterator[ScanText]:
        for f in found:
            if on_location is not None:
                on_location(f)
            kind = "transcript" if f.location.kind == "transcripts" else "config"
            for path in agent_locations.files(f):
                display = _tilde(path, home)
                summary[f.location.agent].files += 1
                stats.files += 1
                try:
                    stats.bytes += os.path.getsize(path)
                    for st in file_texts(path, display, stats, agent=f.location.agent, kind=kind):
                        st.origin = {**(st.origin or {}), "agent": f.location.agent}
                        yield st
                except OSError as exc:
                    stats.skip(display, f"cannot read: {exc.strerror or exc}")

    return summary, texts()


class AgentsSource:
    """``scan --agents``: the agent files under a home directory, read in this process."""

    pool_min_items = 1 << 30  # a home's agent files: one process (the transcripts stream)
    pool_min_jobs = 1 << 30

    def __init__(self, home: str, codex_home: str | None = None,
                 on_location: Callable[[agent_locations.Found], None] | None = None) -> None:
        self.home, self.codex_home, self.on_location = home, codex_home, on_location
        self.summary: dict[str, AgentSummary] = {}
        self._texts: Iterator[ScanText] = iter(())

    def items(self, stats: Stats) -> Iterator[Any]:
        self.summary, self._texts = home_texts(self.home, stats, self.codex_home, self.on_location)
        yield "agents"

    def batches(self, items: Iterator[Any]) -> Iterator[list[Any]]:
        yield list(items)

    def stays_here(self, item: Any) -> bool:
        return True

    def texts(self, batch: Any, stats: Stats, gate: Any) -> Iterator[ScanText]:
        for _ in batch:
            yield from self._texts

    def refine(self, findings: list[Finding], stats: Stats, errors: list[str]) -> list[Finding]:
        count_findings(self.summary, findings)
        stats.extra["agents"] = as_dict(self.summary)
        return findings


def count_findings(summary: dict[str, AgentSummary], findings: list[Finding]) -> None:
    for f in findings:
        agent = (f.origin or {}).get("agent")
        if agent in summary:
            summary[agent].findings += 1


def _tilde(path: str, home: str) -> str:
    rel = os.path.relpath(path, home)
    return "~/" + rel.replace(os.sep, "/") if not rel.startswith("..") else path


def as_dict(summary: dict[str, AgentSummary]) -> dict[str, Any]:
    return {agent: {"locations": s.locations, "files": s.files, "findings": s.findings}
            for agent, s in sorted(summary.items())}
