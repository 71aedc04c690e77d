"""Agent session transcripts (JSON Lines) as ``ScanText``, read as a stream.

Claude Code keeps ``~/.claude/projects/<project>/<session>.jsonl`` and Codex
``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``: one JSON record a line, holding every
prompt, command and tool output verbatim — files of hundreds of MB. Each line is parsed on its
own and its decoded strings become one text, so memory stays bounded by the longest line
(capped: a longer line is scanned as plain text in pieces) and a key inside an escaped JSON
string (a tool result) is found. Each finding names the file, its line, the value's JSON path
and the record's session id and timestamp.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from .agent_paths import transcript_agent
from ..model import Finding, ScanText, Stats
from . import jsonwalk

MAX_LINE_BYTES = 32 * 1024 * 1024  # a longer record is not parsed: its bytes are scanned in pieces
PIECE_CHARS = 1024 * 1024
PIECE_OVERLAP = 16 * 1024  # longer than any match
_META = ("sessionId", "session_id", "timestamp", "uuid", "parentUuid", "cwd", "version", "gitBranch",
         "requestId", "type", "userType", "isSidechain")


@dataclass
class RecordText(ScanText):
    """The decoded strings of one transcript record; ``locate`` names each finding's value."""

    joined: jsonwalk.Joined | None = None
    file_line: int = 0

    def locate(self, findings: list[Finding]) -> None:
        # Claude Code keeps a tool's output twice in one record (``message`` and
        # ``toolUseResult``): one finding per key and rule per record, the first path named
        seen: set[tuple[str, str]] = set()
        findings[:] = [f for f in findings
                       if (f.rule.id, f.secret) not in seen and not seen.add((f.rule.id, f.secret))]
        for f in findings:
            value_line = f.line
            if self.joined is not None:
                path, value_line = self.joined.path_at(f.line)
                f.origin["json_path"] = path
            # a record is one line of the file: every finding in it is on that line
            f.line = f.end_line = self.file_line
            if value_line > 1:
                f.origin["value_line"] = value_line


def transcript_texts(path: str, display: str | None = None, stats: Stats | None = None,
                     root: str | None = None, agent: str | None = None) -> Iterator[ScanText]:
    """One text per record of the JSONL file ``path`` (read line by line)."""
    display = display or path
    agent = agent or transcript_agent(path) or "unknown"
    lines = [0, 0]  # lines read, lines that were not JSON records
    with open(path, "rb") as fh:
        def read() -> Iterator[bytes]:
            while True:
                raw = fh.readline(MAX_LINE_BYTES)
                if not raw:
                    return
                if len(raw) >= MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    lines[0] += 1
                    yield from _long_line(fh, raw, display, path, root, lines[0], agent, stats)
                    continue
                yield raw

        yield from _records(read(), display, path, root, agent, lines)
    _count(stats, display, agent, lines)


def record_texts(text: str, display: str, stats: Stats | None = None, root: str | None = None,
                 agent: str | None = None, commit: dict[str, Any] | None = None,
                 abs_path: str | None = None) -> Iterator[ScanText]:
    """The same for a transcript already in memory (a git blob, a file read whole)."""
    agent = agent or transcript_agent(display) or "unknown"
    lines = [0, 0]
    yield from _records(iter(text.splitlines(keepends=True)), display, abs_path, root, agent, lines, commit)
    _count(stats, display, agent, lines)


def _count(stats: Stats | None, display: str, agent: str, lines: list[int]) -> None:
    jsonwalk.note(stats, "transcripts",
                  {"path": display, "agent": agent, "lines": lines[0], "unparsed_lines": lines[1]})


def _records(raws: Iterator[Any], display: str, path: str | None, root: str | None, agent: str,
             lines: list[int], commit: dict[str, Any] | None = None) -> Iterator[ScanText]:
    session: str | None = None  # Codex names the session once, in its first record
    for raw in raws:
        if isinstance(raw, ScanText):  # a piece of a line too long to parse
            yield raw
            continue
        lines[0] += 1
        lineno = lines[0]
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            record = None
        if not isinstance(record, dict):
            lines[1] += 1
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            yield RecordText(text=text.rstrip("\n"), path=display, abs_path=path, root=root, commit=commit,
                             origin={"transcript": agent, "unparsed": True}, file_line=lineno)
            continue
        session = _session_id(record) or session
        origin: dict[str, Any] = {"transcript": agent}
        if session:
            origin["session_id"] = session
        if isinstance(record.get("timestamp"), str):
            origin["timestamp"] = record["timestamp"]
        body = {k: v for k, v in record.items() if k not in _META}
        joined = jsonwalk.join(jsonwalk.leaves(body))
        if joined.text:
            yield RecordText(text=joined.text, path=display, abs_path=path, root=root, commit=commit,
                             origin=origin, joined=joined, file_line=lineno)


def _session_id(record: dict[str, Any]) -> str | None:
    for key in ("sessionId", "session_id"):
        if isinstance(record.get(key), str):
            return record[key]
    payload = record.get("payload")
    if record.get("type") == "session_meta" and isinstance(payload, dict):
        sid = payload.get("id") or payload.get("session_id")
        return sid if isinstance(sid, str) else None
    return None


def _long_line(fh: Any, head: bytes, display: str, path: str, root: str | None, lineno: int,
               agent: str, stats: Stats | None) -> Iterator[ScanText]:
    """A record longer than ``MAX_LINE_BYTES``: its bytes as plain text in overlapping pieces."""
    import codecs

    if stats is not None:
        stats.skip(display, f"transcript line {lineno} too long to parse; scanned as text")
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    carry = ""
    column = 0  # characters of the line before ``carry``
    chunk = head
    while True:
        end_of_line = chunk.endswith(b"\n")
        text = carry + decoder.decode(chunk, final=end_of_line or not chunk)
        if text:
            yield RecordText(text=text.rstrip("\n"), path=display, abs_path=path, root=root,
                             origin={"transcript": agent, "unparsed": True}, whole=False,
                             column_offset=column, file_line=lineno)
        if end_of_line or not chunk:
            return
        keep = text[-PIECE_OVERLAP:]
        column += len(text) - len(keep)
        carry = keep
        chunk = fh.readline(PIECE_CHARS)
