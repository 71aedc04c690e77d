"""The project config: ``.keyguard.yaml`` at the root, or ``[tool.keyguard]`` in ``pyproject.toml``.

One schema for both files::

    rules:
      enable: [generic]            # opt-in packs or rules
      disable: [generic-api-key-assignment, some-provider]   # rule ids or providers
      extra: [.keyguard/rules.yml]  # more rule files, relative to the config file
    skip: ["tests/fixtures/", "*.min.js"]   # gitignore syntax, relative to the scanned root
    fail-on: high                  # the lowest severity that fails the run (default: low)
    baseline: .keyguard-baseline.json
    allow:
      - fingerprint: 0f3c...       # ``fingerprint`` of a finding (32 hex characters)
        reason: revoked test key used in fixtures

There are deliberately no keys for verification. The config is read from the tree being scanned,
and a scanned repository must never be able to turn verification on (which sends its keys over
the network) or point it at another host. Verification is only ever switched on by a flag the
person running keyguard types.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from ..model import SEVERITIES

YAML_NAMES = (".keyguard.yaml", ".keyguard.yml")
PYPROJECT = "pyproject.toml"
FINGERPRINT_RE = re.compile(r"^[0-9a-f]{32}$")

_TOP_KEYS = ("rules", "skip", "fail-on", "baseline", "allow")
_RULES_KEYS = ("enable", "disable", "extra")
_ALLOW_KEYS = ("fingerprint", "reason")
# keys someone might reasonably try; each gets an explanation instead of "unknown key"
_FORBIDDEN = re.compile(r"verif|endpoint|base[-_]?url|api[-_]?base|host|proxy|url", re.I)


class ConfigError(Exception):
    """The config file is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class Allow:
    fingerprint: str
    reason: str


@dataclass
class Config:
    source: str | None = None  # the file it came from, for messages
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    extra_rules: tuple[str, ...] = ()  # paths, already resolved against the config's directory
    skip: tuple[str, ...] = ()
    fail_on: str = "low"
    baseline: str | None = None  # path, resolved against the config's directory
    allow: tuple[Allow, ...] = field(default_factory=tuple)

    @property
    def allowed(self) -> dict[str, str]:
        return {a.fingerprint: a.reason for a in self.allow}


def find_config_file(root: str) -> str | None:
    """``.keyguard.yaml`` (or ``.yml``) in ``root``, else ``pyproject.toml`` with [tool.keyguard].

    Both present is an error: one project, one config.
    """
    found = [os.path.join(root, n) for n in YAML_NAMES if os.path.isfile(os.path.join(root, n))]
    pyproject = os.path.join(root, PYPROJECT)
    if os.path.isfile(pyproject) and _pyproject_section(pyproject) is not None:
        found.append(pyproject)
    if len(found) > 1:
        names = " and ".join(os.path.basename(f) for f in found)
        raise ConfigError(f"{root}: both {names} configure keyguard; keep one")
    return found[0] if found else None


def load_config(path: str) -> Config:
    """Read and validate one config file (YAML, or a pyproject.toml's [tool.keyguard])."""
    if os.path.basename(path).endswith(".toml"):
        data = _pyproject_section(path)
        if data is None:
            raise ConfigError(f"{path}: no [tool.keyguard] table")
        prefix = "tool.keyguard."
    else:
        data = _read_yaml(path)
        prefix = ""
    return parse_config(data, path, prefix)


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {getattr(exc, 'strerror', None) or exc}") from None


def _read_yaml(path: str) -> Any:
    import yaml

    text = _read_text(path)
    # the pure-Python loader: libyaml's recurses in C and crashes the process on "[[[[…" a
    # hundred thousand deep (a scanned tree's own config); Python's recursion has a limit
    try:
        data = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - a safe loader
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    return {} if data is None else data


def _pyproject_section(path: str) -> Any:
    import tomllib

    try:
        doc = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None
    tool = doc.get("tool")
    if not isinstance(tool, dict):
        return None
    return tool.get("keyguard")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _unknown(key: str, known: tuple[str, ...], where: str) -> ConfigError:
    if _FORBIDDEN.search(key):
        return ConfigError(
            f"{where}{key}: verification cannot be configured in a config file — a scanned "
            "repository must not be able to turn verification on or redirect it; "
            "use the command-line flag"
        )
    import difflib

    near = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(known)})"
    return ConfigError(f"{where}{key}: unknown key{hint}")


def _inside(value: str, base: str, where: str) -> str:
    """A path from the config, relative to its directory and not outside it."""
    if os.path.isabs(value) or ".." in value.replace("\\", "/").split("/"):
        raise ConfigError(f"{where}: must be a path inside {base or '.'} (no absolute paths, no '..')")
    return os.path.join(base, value) if base else value


def parse_config(data: Any, source: str, prefix: str = "") -> Config:
    """Validate ``data`` (the parsed file) against the schema; every error names file and key."""
    here = f"{source}: {prefix}"
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'the file'} must be a mapping of keys")
    for key in data:
        if key not in _TOP_KEYS:
            raise _unknown(str(key), _TOP_KEYS, here)
    base = os.path.dirname(source)
    cfg = Config(source=source)

    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise ConfigError(f"{here}rules: must be a mapping with enable, disable, extra")
    for key in rules:
        if key not in _RULES_KEYS:
            raise _unknown(str(key), _RULES_KEYS, f"{here}rules.")
    if "enable" in rules:
        cfg.enable = _strings(rules["enable"], f"{here}rules.enable")
    if "disable" in rules:
        cfg.disable = _strings(rules["disable"], f"{here}rules.disable")
    if "extra" in rules:
        extra = _strings(rules["extra"], f"{here}rules.extra")
        cfg.extra_rules = tuple(
            _inside(p, base, f"{here}rules.extra[{i}]") for i, p in enumerate(extra)
        )

    if "skip" in data:
        cfg.skip = _strings(data["skip"], f"{here}skip")
        from .pathspec import PatternError, compile_pattern

        for i, pattern in enumerate(cfg.skip):
            try:
                compile_pattern(pattern)
            except PatternError as exc:
                raise ConfigError(f"{here}skip[{i}]: {exc}") from None

    if "fail-on" in data:
        value = data["fail-on"]
        if not isinstance(value, str) or value.lower() not in SEVERITIES:
            raise ConfigError(f"{here}fail-on: must be one of {', '.join(SEVERITIES)}")
        cfg.fail_on = value.lower()

    if "baseline" in data:
        value = data["baseline"]
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{here}baseline: must be a file path")
        cfg.baseline = _inside(value.strip(), base, f"{here}baseline")

    if "allow" in data:
        cfg.allow = _allow_entries(data["allow"], f"{here}allow")
    return cfg


def _allow_entries(value: Any, where: str) -> tuple[Allow, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list of {{fingerprint, reason}} entries")
    out = []
    for i, entry in enumerate(value):
        w = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{w}: must be a mapping with fingerprint and reason")
        for key in entry:
            if key not in _ALLOW_KEYS:
                raise _unknown(str(key), _ALLOW_KEYS, f"{w}.")
        fp = entry.get("fingerprint")
        if not isinstance(fp, str) or not FINGERPRINT_RE.match(fp.strip().lower()):
            raise ConfigError(
                f"{w}.fingerprint: must be a finding's fingerprint, a quoted string of 32 hex characters"
            )
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{w}.reason: say why this finding is allowed (a non-empty string)")
        out.append(Allow(fp.strip().lower(), reason.strip()))
    return tuple(out)
