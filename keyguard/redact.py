"""Replace each key found in a file with its redacted form, in place and atomically.

For transcripts and logs an agent left behind. The new content goes to a temp file in the same
directory, is flushed and fsynced, gets the old file's mode, and only then replaces the file
(``os.replace``); a crash or a full disk at any point leaves the old file whole. A file git
tracks is refused: its history would still hold the key. Redacting never makes a key safe —
it was already read, copied or synced — so the key is rotated first.
"""
from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass, field
from typing import Any

from .model import Finding, ScanText, Stats

ROTATE_FIRST = ("Rotate each key first (revoke it where it was issued): redacting a file does not "
                "undo a leak — the key was already read, and may be copied or synced elsewhere.")
_GIT = ["git", "-c", "core.fsmonitor=", "-c", "core.hooksPath=/dev/null", "-c", "safe.directory=*"]


class RedactError(Exception):
    """This file cannot be redacted; the message says why (one line)."""


@dataclass
class Change:
    secret: str = field(repr=False)
    redacted: str
    rule: str
    line: int
    count: int = 0


@dataclass
class Plan:
    path: str
    changes: list[Change]
    data: bytes = field(repr=False, default=b"")
    not_literal: list[Finding] = field(default_factory=list)  # found decoded (base64, \u escapes)
    stamp: tuple[int, int] = (0, 0)  # size and mtime when read: a file changed since is not replaced


def tracked_by_git(path: str) -> bool:
    """Is ``path`` a file git tracks in the work tree it lies in? (hooks and fsmonitor off)"""
    directory, name = os.path.split(os.path.abspath(path))
    try:
        r = subprocess.run([*_GIT, "-C", directory, "ls-files", "--error-unmatch", "--", name],
                           capture_output=True, timeout=30,
                           env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"})
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def _findings(text: str, path: str, scanner: Any) -> list[Finding]:
    """The raw text's findings, and those of its decoded values when it is an agent config or
    transcript (keys inside escaped JSON)."""
    stats = Stats()
    # under a name no reader claims: the raw text as it is (keys in comments, in escaped forms)
    found = scanner.scan([ScanText(text=text, path=path + "\0raw", abs_path=path)], stats)
    if path.endswith(".jsonl"):
        from .sources.transcripts import record_texts

        found += scanner.scan(record_texts(text, path, abs_path=path), stats)
    else:
        found += scanner.scan([ScanText(text=text, path=path, abs_path=path)], stats)
    return found


def plan(path: str, scanner: Any) -> Plan:
    """What redacting ``path`` would change (nothing is written); ``scanner``: a
    ``pipeline.run.Scanner``."""
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError as exc:
        raise RedactError(f"cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise RedactError("not a regular file")
    if tracked_by_git(real):
        raise RedactError(
            "tracked by git: redacting the work tree would leave the key in the repository's "
            "history (and in every clone). Rotate the key first; then remove it from history "
            "if you must (git filter-repo). Not changed.")
    try:
        with open(real, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise RedactError(f"cannot read: {exc.strerror or exc}") from None
    text = raw.decode("utf-8", "surrogateescape")
    by_secret: dict[str, Change] = {}
    not_literal: list[Finding] = []
    for f in _findings(text, real, scanner):
        if f.secret in by_secret:
            continue
        count = text.count(f.secret)
        if not count:
            not_literal.append(f)
            continue
        by_secret[f.secret] = Change(f.secret, f.redacted, f.rule.name,
                                     text.count("\n", 0, text.find(f.secret)) + 1, count)
    new = text
    for secret in sorted(by_secret, key=len, reverse=True):
        new = new.replace(secret, by_secret[secret].redacted)
    changes = sorted(by_secret.values(), key=lambda c: c.line)
    return Plan(real, changes, new.encode("utf-8", "surrogateescape"), not_literal,
                (st.st_size, st.st_mtime_ns))


def apply(p: Plan) -> None:
    """Write ``p.data`` over ``p.path`` atomically, keeping the file's mode."""
    if p.changes:
        replace_atomically(p.path, p.data, p.stamp)


def replace_atomically(path: str, data: bytes, stamp: tuple[int, int] | None = None) -> None:
    """``data`` over ``path``, keeping its mode, unless the file changed since ``stamp`` (its
    size and mtime when it was read): then it is left as it is."""
    from .atomic import replace_file

    before = os.stat(path)
    stamp = stamp or (before.st_size, before.st_mtime_ns)

    def unchanged() -> None:
        now = os.stat(path)
        if (now.st_size, now.st_mtime_ns) != stamp:
            raise RedactError("the file changed while it was being redacted (an agent still "
                              "writing it?); not changed, run again")

    replace_file(path, data, stat.S_IMODE(before.st_mode), unchanged, prefix=".keyguard-redact-")
