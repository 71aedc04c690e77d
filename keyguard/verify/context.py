"""What a verifier may learn from around a finding: an AWS secret, an Azure host, SA fields.

Only values that match strict patterns are taken, only from the finding's own file near the key
(or from other findings in that file), and none of them can move a key off its provider's
domain: verifiers build URLs from fixed hosts (Azure: a checked label + ``.openai.azure.com``).
Findings in git history or on standard input have no file on disk to read: their companions
come from other findings only.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Iterable

from ..model import Finding
from .lookup import module_for
from .model import Context
from .aws import KEY_ID as AWS_KEY_ID, SECRET as AWS_SECRET
from .azure_openai import RESOURCE_HOST

WINDOW_LINES = 12  # lines either side of the key
MAX_PAIRINGS = 3  # AWS key id / secret pairings tried per key (each is one signed GET)
WINDOW_CHARS = 4000  # characters either side on one long (minified) line
MAX_FILE_BYTES = 8 * 1024 * 1024
_AWS_SECRET_NEAR = re.compile(
    r"(?i)secret[_\s-]?(?:access[_\s-]?)?key\w*[\"']?\s*[:=]>?\s*[\"']?([A-Za-z0-9+/]{40})(?![A-Za-z0-9+/])")
_AZURE_HOST_NEAR = re.compile(
    r"(?<![a-z0-9.-])([a-z0-9][a-z0-9-]{0,61}[a-z0-9]?\.openai\.azure\.com)(?![a-z0-9.-])", re.I)
_SA_FIELD = {name: re.compile(rf'"{name}"\s*:\s*"([^"\\]{{1,200}})"')
             for name in ("client_email", "private_key_id", "project_id")}


_LANGFUSE_PUBLIC = re.compile(r"\bpk-lf-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}\b")


@lru_cache(maxsize=64)
def _file_lines(path: str) -> tuple[str, ...] | None:
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            return None
        with open(path, encoding="utf-8", errors="replace") as fh:
            return tuple(fh.read().splitlines())
    except OSError:
        return None


def nearby_text(f: Finding, lines_either_side: int = WINDOW_LINES) -> str:
    """The text around a finding in its file on disk, or "" (git history, stdin, URLs)."""
    if f.commit or f.path == "-" or f.path.startswith(("http://", "https://")):
        return ""
    lines = _file_lines(os.path.join(f.root, f.path) if f.root else f.path)
    if not lines or f.line < 1 or f.line > len(lines):
        return ""
    start, end = max(0, f.line - 1 - lines_either_side), min(len(lines), f.line + lines_either_side)
    window = list(lines[start:end])
    key_line = f.line - 1 - start
    text = window[key_line]
    if len(text) > 2 * WINDOW_CHARS:
        window[key_line] = text[max(0, f.column - WINDOW_CHARS):f.column + WINDOW_CHARS]
    return "\n".join(window)


def _same_file(f: Finding, others: Iterable[Finding], lines: int) -> list[Finding]:
    commit = (f.commit or {}).get("sha")
    return sorted((o for o in others if o is not f and o.path == f.path
                   and (o.commit or {}).get("sha") == commit and abs(o.line - f.line) <= lines),
                  key=lambda o: abs(o.line - f.line))


def context_for(f: Finding, findings: list[Finding]) -> Context:
    module = module_for(f.rule.provider, f.rule.id) or ""
    ctx = Context(f.rule.id, f.rule.provider)
    if module == "aws":
        _aws(f, findings, ctx)
    elif module == "azure_openai":
        hosts = {h.lower() for h in _AZURE_HOST_NEAR.findall(nearby_text(f))}
        hosts = {h for h in hosts if RESOURCE_HOST.fullmatch(h)}
        if len(hosts) == 1:
            ctx.companions["azure_host"] = hosts.pop()
        elif hosts:
            ctx.notes.append("several Azure OpenAI hosts near the key")
    elif module == "langfuse":
        found = _LANGFUSE_PUBLIC.findall(nearby_text(f))
        if found:
            ctx.companions["langfuse_public_key"] = found[0]
    elif module in ("google", "google_service_account") and not f.secret.startswith(("AIza", "AQ.")):
        text = nearby_text(f, 40)
        for name, pattern in _SA_FIELD.items():
            found = pattern.search(text)
            if found:
                ctx.companions[name] = found.group(1)
    return ctx


def _aws(f: Finding, findings: list[Finding], ctx: Context) -> None:
    """The other half of an AWS pair: up to MAX_PAIRINGS candidates, nearest first.

    Pairing is by proximity, so the nearest secret may belong to another key id; the verifier
    tries each candidate (``aws_secret``, ``aws_secret_2``, ...) until one signs.
    """
    near = _same_file(f, findings, WINDOW_LINES)
    if AWS_KEY_ID.fullmatch(f.secret):
        found = [o.secret for o in near if AWS_SECRET.fullmatch(o.secret)]
        found += _AWS_SECRET_NEAR.findall(nearby_text(f))
        name = "aws_secret"
    elif AWS_SECRET.fullmatch(f.secret):
        found = [o.secret for o in near if AWS_KEY_ID.fullmatch(o.secret)]
        found += AWS_KEY_ID.findall(nearby_text(f))
        name = "aws_key_id"
    else:
        return
    candidates = list(dict.fromkeys(c for c in found if c != f.secret))
    for n, value in enumerate(candidates[:MAX_PAIRINGS]):
        ctx.companions[name if n == 0 else f"{name}_{n + 1}"] = value
    if len(candidates) > MAX_PAIRINGS:
        ctx.notes.append(f"{len(candidates)} possible AWS pairings near the key; "
                         f"the nearest {MAX_PAIRINGS} were tried")
