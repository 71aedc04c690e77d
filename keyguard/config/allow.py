"""``keyguard allow FINGERPRINT --reason ...``: add an allow entry to the config file.

The file is edited as text, so the user's comments and layout survive; the result is parsed
again and checked before it replaces the old file.
"""
from __future__ import annotations

import json
import os
import re

from .file import YAML_NAMES, Allow, ConfigError, find_config_file, load_config


def target_file(explicit: str | None, root: str = ".") -> str:
    """The config to write: the one named, the one in use, or a new ``.keyguard.yaml``."""
    if explicit:
        return explicit
    return find_config_file(root) or os.path.join(root, YAML_NAMES[0])


def add_allow(path: str, fingerprint: str, reason: str) -> bool:
    """Add the entry; False if the fingerprint was already allowed (nothing written)."""
    exists = os.path.exists(path)
    if exists:
        current = load_config(path)
        if fingerprint in current.allowed:
            return False
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    else:
        current, text = None, ""
    if path.endswith(".toml"):
        new_text = _toml_with(text, fingerprint, reason, path)
    else:
        new_text = _yaml_with(text, fingerprint, reason, path)
    _write_checked(path, new_text, Allow(fingerprint, reason), current.allow if current else ())
    return True


def _quoted(s: str) -> str:
    # a JSON string is a valid YAML and TOML basic string
    return json.dumps(s, ensure_ascii=False)


def _yaml_with(text: str, fingerprint: str, reason: str, path: str) -> str:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, ln in enumerate(lines) if re.match(r"^allow\s*:\s*(#.*)?$", ln)), None)
    if start is None and re.search(r"(?m)^allow\s*:", text):
        raise ConfigError(f"{path}: allow: written in flow style; use a block list so keyguard can add to it")
    if start is None:
        item = f"allow:\n  - fingerprint: {_quoted(fingerprint)}\n    reason: {_quoted(reason)}\n"
        return "".join(lines) + item
    end = start + 1
    indent = "  "
    last_item = start
    while end < len(lines) and (lines[end].startswith((" ", "\t", "-")) or not lines[end].strip()):
        m = re.match(r"^(\s*)- ", lines[end])
        if m:
            indent = m.group(1)
        if lines[end].strip():
            last_item = end
        end += 1
    item = f"{indent}- fingerprint: {_quoted(fingerprint)}\n{indent}  reason: {_quoted(reason)}\n"
    return "".join(lines[: last_item + 1]) + item + "".join(lines[last_item + 1 :])


def _toml_with(text: str, fingerprint: str, reason: str, path: str) -> str:
    if re.search(r"(?m)^\s*allow\s*=", text):
        raise ConfigError(
            f"{path}: tool.keyguard.allow: written as an inline array; use [[tool.keyguard.allow]] "
            "tables so keyguard can add to it"
        )
    sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    return (
        f"{text}{sep}[[tool.keyguard.allow]]\nfingerprint = {_quoted(fingerprint)}\n"
        f"reason = {_quoted(reason)}\n"
    )


def _write_checked(path: str, text: str, added: Allow, before: tuple[Allow, ...]) -> None:
    from .file import parse_config

    if path.endswith(".toml"):
        import tomllib

        data = tomllib.loads(text).get("tool", {}).get("keyguard")
        prefix = "tool.keyguard."
    else:
        import yaml

        data = yaml.safe_load(text)
        prefix = ""
    cfg = parse_config(data, path, prefix)
    if cfg.allow != tuple(before) + (added,):
        # the text edit did not land where expected (unusual layout): refuse rather than guess
        raise ConfigError(f"{path}: allow: could not add an entry to this layout; add it by hand")
    from ..atomic import write_output

    write_output(text, path)
