"""Writing a file the user named (a report, a baseline, a config) without ever leaving it half
written: a temp file beside it, fsync, rename. A device or a pipe is written in place."""
from __future__ import annotations

import os
import stat


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
