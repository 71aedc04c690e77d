"""What every command shares: exit codes, the one-line error, writing a report and the
``Setup`` a scan runs with. No click here: the pre-commit hook's fast path (``keyguard.entry``)
uses it without loading the command line. Heavy modules are imported inside functions."""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Iterable

from ..sources import is_url

if TYPE_CHECKING:
    from ..config.project import Setup

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


class KeyguardError(Exception):
    """A fatal, expected error: one clear line, exit 2, no traceback. Shown as click shows its
    own errors (the command line turns it into one)."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def show(self) -> None:
        sys.stderr.write(f"Error: {self.message}\n")


FORMAT_HELP = "Report format (default: from -o's extension, .sarif or .json; else text)."


def report_format(fmt: str | None, output: str | None, formats: tuple[str, ...]) -> str:
    """``--format`` if given; otherwise what ``-o``'s extension says (``.sarif``, ``.sarif.json``,
    ``.json``, as ``keyguard merge`` reads it), else text."""
    if fmt:
        return fmt
    name = (output or "").lower()
    if name.endswith((".sarif", ".sarif.json")) and "sarif" in formats:
        return "sarif"
    if name.endswith(".json") and "json" in formats:
        return "json"
    return "text"


def use_color(flag: bool | None, output: str | None) -> bool:
    """``--color``/``--no-color``; else ``NO_COLOR`` (no-color.org: set and not empty) turns colour
    off and ``FORCE_COLOR`` turns it on for standard output; else colour on a terminal only."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    if output is None and os.environ.get("FORCE_COLOR", "").lower() not in ("", "0", "false"):
        return True
    return output is None and sys.stdout.isatty()


def emit_report(text: str, output: str | None) -> None:
    """Write a report to ``output`` (atomically) or standard output. A failed write (a full
    disk, a closed pipe) is a one-line error, exit 2 — not a traceback and exit 1."""
    from ..atomic import write_output

    try:
        if output:
            write_output(text, output)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    except OSError as exc:
        if not output:  # what is still buffered cannot be written either: drop it quietly
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except OSError:
                pass
        raise KeyguardError(f"cannot write {output or 'to standard output'}: {exc.strerror or exc}") from None


def exit_for(severities: Iterable[str], fail_on: str) -> None:
    """Exit 1 if any severity is ``fail_on`` or worse, else 0."""
    from ..model import severity_rank

    threshold = severity_rank(fail_on)
    sys.exit(EXIT_FINDINGS if any(severity_rank(s) >= threshold for s in severities) else EXIT_CLEAN)


def setup_for(targets: tuple[str, ...], config_file: str | None = None, no_config: bool = False,
              enable: tuple[str, ...] = (), disable: tuple[str, ...] = (),
              extra_rules: tuple[str, ...] = (), skip: tuple[str, ...] = (),
              fail_on: str | None = None, baseline: str | None = None,
              use_baseline: bool = True) -> Setup:
    """The rules, packs, config and baselines that apply to a scan of ``targets``."""
    from ..config.project import Overrides, SetupError, setup

    for t in targets:
        if t != "-" and not is_url(t) and not os.path.lexists(t):
            raise KeyguardError(f"{t}: no such file or directory")
    o = Overrides(config_file=config_file, no_config=no_config, enable=enable, disable=disable,
                  extra_rules=extra_rules, skip=skip, fail_on=fail_on, baseline=baseline)
    try:
        return setup(targets, o, use_baseline)
    except SetupError as exc:
        raise KeyguardError(str(exc)) from None
