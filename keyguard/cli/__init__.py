"""The command line: one module per command, run by click (``group.py``). This package
itself loads no click: ``main`` guards any run (Ctrl-C, expected errors, bugs), and the
pre-commit hook's fast path in ``keyguard.entry`` uses it without the command group."""
from __future__ import annotations

import os
import sys
from typing import Any, Callable

from .common import EXIT_ERROR, EXIT_INTERRUPTED, KeyguardError

# command name -> (module, attribute)
COMMANDS = {
    "scan": ("scan", "scan"), "baseline": ("baseline", "baseline"), "allow": ("allow", "allow"),
    "rules": ("rules", "rules"), "merge": ("merge", "merge_reports"), "verify": ("verify", "verify_command"),
    "audit": ("audit", "audit"), "hook": ("hook", "hook"), "redact": ("redact", "redact"),
}


def __getattr__(name: str) -> Any:
    if name == "cli":  # the click group, loaded on first use
        from .group import cli

        return cli
    raise AttributeError(name)


def main() -> None:
    """The whole command line."""
    from .group import run

    guarded(run)


def guarded(fn: Callable[..., None], *args: Any) -> None:
    """Run ``fn``: Ctrl-C exits 130, an expected error is one line and exit 2, a bug is one line
    (no traceback, which may quote scanned text) and exit 2."""
    try:
        fn(*args)
    except KeyboardInterrupt:
        interrupted()
    except KeyguardError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: one line, exit 2, and no traceback
        sys.stderr.write(crash_line(exc) + "\n")
        sys.exit(EXIT_ERROR)


def interrupted() -> None:
    """Ctrl-C: exit 130 at once. Not 1, which says "findings": a cancelled CI job is no leak.

    Reports are written atomically, so an old one stays whole. ``os._exit``: the interpreter
    would otherwise wait for worker threads still blocked in a request (up to its time-out)."""
    try:
        sys.stderr.write("\nkeyguard: interrupted\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(EXIT_INTERRUPTED)


def crash_line(exc: BaseException) -> str:
    """The one line shown for an unexpected error: its type and where it was raised, never its
    message or the traceback's values, which may quote the scanned text (a secret)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        frame = frames[-1]
        where = f" at {os.path.basename(frame.filename)}:{frame.lineno}"
    return (f"keyguard: internal error ({type(exc).__name__}{where}); please report it "
            "(its message is not shown: it may quote scanned text)")
