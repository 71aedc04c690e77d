"""Reporters: ``ScanResult`` in, text out. No reporter ever prints a full secret unless asked."""
from __future__ import annotations

import os
import stat
from typing import Callable

from ..scanner import ScanResult

FORMATS = ("text", "json", "sarif", "github")


def render(fmt: str, result: ScanResult, show_secrets: bool = False, color: bool = False) -> str:
    renderer: Callable[..., str]
    if fmt == "json":
        from .json import render as renderer
    elif fmt == "sarif":
        from .sarif import render as renderer
    elif fmt == "github":
        from .github import render as renderer
    else:
        from .text import render as renderer
        return renderer(result, show_secrets=show_secrets, color=color)
    return renderer(result, show_secrets=show_secrets)


def write_output(text: str, path: str) -> None:
    """Write a report: atomically (temp file + rename) for a regular file, in place otherwise.

    A device or a pipe (``/dev/stdout``, a FIFO) is written as it is, never replaced.
    """
    mode = None
    try:
        st = os.stat(path)
        special = not stat.S_ISREG(st.st_mode)
        mode = stat.S_IMODE(st.st_mode)
    except FileNotFoundError:
        special = False
    if special:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        return
    import tempfile  # only when writing a file (start-up time)

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".keyguard-", suffix=".tmp", dir=directory)
    try:
        if mode is None:  # a new report gets the mode a plain open() would give it, not 0600
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)  # a replaced report keeps its mode
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
