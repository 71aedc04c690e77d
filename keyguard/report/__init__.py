"""Reporters: ``ScanResult`` in, text out. No reporter ever prints a full secret unless asked."""
from __future__ import annotations

from typing import Callable

from ..model import ScanResult

FORMATS = ("text", "json", "sarif", "github")


def render(fmt: str, result: ScanResult, show_secrets: bool = False, color: bool = False,
           verbose: bool = False) -> str:
    renderer: Callable[..., str]
    if fmt == "json":
        from .json import render as renderer
    elif fmt == "sarif":
        from .sarif import render as renderer
    elif fmt == "github":
        from .github import render as renderer
    else:
        from .text import render as renderer
        return renderer(result, show_secrets=show_secrets, color=color, verbose=verbose)
    return renderer(result, show_secrets=show_secrets)
