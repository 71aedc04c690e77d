"""Writing a file the user named (a report, a baseline, a config) without ever leaving it half
written: a temp file beside it, fsync, rename. A device or a pipe is written in place."""
from __future__ import annotations

import os
import stat
from typing import Callable


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
    if mode is None:  # a new report gets the mode a plain open() would give it, not 0600
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    replace_file(path, text.encode("utf-8"), mode)  # a replaced report keeps its mode


def replace_file(path: str, data: bytes, mode: int, before_rename: Callable[[], None] | None = None,
                 prefix: str = ".keyguard-") -> None:
    """Put ``data`` at ``path`` all at once: written to a temp file beside it, synced, then
    renamed over it (``before_rename`` may still refuse by raising); on any failure the old
    file stays as it was and the temp file goes."""
    import tempfile  # only when writing a file (start-up time)

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if before_rename is not None:
            before_rename()
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # the rename itself reaches the disk
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
