"""Rules are data: YAML files in ``rules/`` (shipped in the wheel) plus the user's own files.

Every rule is validated when loaded; a bad file or rule is a ``RuleError`` naming both.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Iterable

from ..model import SEVERITIES, Rule
from .regex import RegexError, compile_rule_regex


class RuleError(Exception):
    """A rules file or a rule in it is unusable; the message names the file and the rule."""


_PACKAGE = Path(__file__).resolve().parent.parent  # keyguard/
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,80}$")
_KNOWN_KEYS = {
    "id", "name", "description", "regex", "keywords", "severity", "remediation", "context",
    "context_lines", "min_entropy", "confidence", "references", "examples", "provider",
}


def builtin_rules_dir() -> Path:
    """``keyguard/rules`` in an installed wheel, ``<checkout>/rules`` in a source tree."""
    for candidate in (_PACKAGE / "rules", _PACKAGE.parent / "rules"):
        if candidate.is_dir():
            return candidate
    raise RuleError(f"built-in rules not found next to {_PACKAGE}")


def _yaml_load(text: str, where: str, builtin: bool = False) -> Any:
    import yaml

    # libyaml's loader (fast) only for the rules keyguard ships: it recurses in C and crashes
    # the process on a user's (or a scanned repository's) "[[[[…" nested deep enough
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if builtin else yaml.SafeLoader
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except RecursionError:
        raise RuleError(f"{where}: not valid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:  # one line: the place and the problem
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RuleError(f"{where}: not valid YAML{line}: {problem}") from None


def rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())
    if path.is_file():
        return [path]
    raise RuleError(f"{path}: no such rules file or directory")


def load_rules(extra: Iterable[str | Path] = (), builtin: bool = True) -> list[Rule]:
    files: list[tuple[Path, bool]] = []  # (file, shipped with keyguard)
    if builtin:
        files += [(f, True) for f in rule_files(builtin_rules_dir())]
    for p in extra:
        files += [(f, False) for f in rule_files(Path(p))]
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for f, shipped in files:
        for rule in load_file(f, builtin=shipped):
            if rule.id in seen:
                raise RuleError(f"{f}: rule {rule.id!r}: id already defined in {seen[rule.id]}")
            seen[rule.id] = str(f)
            rules.append(rule)
    return rules


SNAPSHOT_NAME = "builtin-rules.json"
_snapshot: dict[str, Any] | None = None


def _snapshot_data(path: Path, raw: bytes) -> Any:
    """The built-in rules file ``path`` as the JSON snapshot shipped beside it holds it (its
    parsed ``data``, and ``shape``: each rule's longest match and whether it spans lines, so that
    no regex is parsed or compiled at start-up), if the snapshot holds this very file (same
    SHA-256); else None. Start-up: JSON parses in a fraction of PyYAML's import and parse time,
    and the regexes compile only when a scan first needs them (the pre-commit hook)."""
    global _snapshot
    if _snapshot is None:
        try:
            _snapshot = json.loads((path.parent / SNAPSHOT_NAME).read_bytes())
        except (OSError, ValueError):
            _snapshot = {}
    entry = (_snapshot.get("files") or {}).get(path.name) if isinstance(_snapshot, dict) else None
    if isinstance(entry, dict) and entry.get("sha256") == hashlib.sha256(raw).hexdigest():
        return entry
    return None


def snapshot() -> str:
    """The JSON snapshot of the built-in rules files (``python -m keyguard.ruleset`` writes it)."""
    files = {}
    examples: list[str] = []  # stood in for by "\0<index>\0" until the JSON is written
    for f in rule_files(builtin_rules_dir()):
        raw = f.read_bytes()
        data = _yaml_load(raw.decode("utf-8"), str(f), builtin=True)
        for rule in data.get("rules", []):
            for kind, values in (rule.get("examples") or {}).items():
                rule["examples"][kind] = [f"\0{len(examples) + i}\0" for i in range(len(values))]
                examples += values
        shape = {r["id"]: list(compile_rule_regex(r["regex"])[1:]) for r in data.get("rules", [])}
        files[f.name] = {"sha256": hashlib.sha256(raw).hexdigest(), "data": data, "shape": shape}
    text = json.dumps({"files": files}, indent=0, sort_keys=True, ensure_ascii=False) + "\n"
    # examples (fake keys) spelled as \uXXXX escapes: the YAML marks them `keyguard:allow`, JSON
    # has no comments, and no rule matches a key written this way
    return re.sub(r'"\\u0000(\d+)\\u0000"', lambda m: _all_escaped(examples[int(m[1])]), text)


def _all_escaped(value: str) -> str:
    """``value`` as a JSON string with every character a ``\\uXXXX`` escape."""
    return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else json.dumps(c)[1:-1] for c in value) + '"'


def load_file(path: Path, builtin: bool = False) -> list[Rule]:
    try:
        raw = path.read_bytes()
        entry = _snapshot_data(path, raw) if builtin else None
        data = entry.get("data") if entry else None
        shapes = (entry.get("shape") or {}) if entry else {}
        if data is None:
            data = _yaml_load(raw.decode("utf-8"), str(path), builtin)
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read rules file: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleError(f"{path}: expected a mapping with a 'rules' list")
    provider = data.get("provider")
    defaults = {k: data[k] for k in ("remediation", "references", "provider") if k in data}
    rules = []
    for i, raw in enumerate(data["rules"]):
        if not isinstance(raw, dict):
            raise RuleError(f"{path}: rule #{i + 1}: expected a mapping")
        rid = raw.get("id", f"#{i + 1}")
        where = f"{path}: rule {rid!r}"
        merged = {**defaults, **raw}
        if "provider" not in merged and provider is None:
            raise RuleError(f"{where}: no provider")
        rules.append(build_rule(merged, where, str(path), shapes.get(rid) if isinstance(rid, str) else None))
    return rules


def _str_list(value: Any, where: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{where}: {field!r} must be a list of strings")
    return tuple(value)


def build_rule(raw: dict[str, Any], where: str, source: str = "", shape: list | None = None) -> Rule:
    """A rule from its YAML mapping. ``shape`` (longest match, spans lines), from the snapshot of
    a built-in rule checked by the tests, spares parsing and compiling its regex now."""
    unknown = set(raw) - _KNOWN_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown field(s): {', '.join(sorted(unknown))}")
    for req in ("id", "name", "regex", "keywords", "severity"):
        if not raw.get(req):
            raise RuleError(f"{where}: missing required field {req!r}")
    rid = str(raw["id"])
    if not _ID_RE.match(rid):
        raise RuleError(f"{where}: id must be lower-case letters, digits, '.' or '-'")
    severity = str(raw["severity"]).lower()
    if severity not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    keywords = _str_list(raw.get("keywords"), where, "keywords")
    if not keywords or any(len(k) < 2 for k in keywords):
        raise RuleError(f"{where}: keywords must be literal strings of 2+ characters")
    examples = raw.get("examples") or {}
    if not isinstance(examples, dict):
        raise RuleError(f"{where}: examples must be a mapping with 'positive' and 'negative'")
    if not isinstance(raw["provider"], str) or not raw["provider"].strip():
        raise RuleError(f"{where}: provider must be a name (a string)")
    try:
        min_entropy = float(raw.get("min_entropy", 0) or 0)
        context_lines = int(raw.get("context_lines", 3))
    except (TypeError, ValueError):
        raise RuleError(f"{where}: min_entropy and context_lines must be numbers") from None
    if not 0 <= min_entropy <= 8:  # bits per character; NaN fails too and would turn the check off
        raise RuleError(f"{where}: min_entropy must be a number from 0 to 8 (bits per character)")
    rule = Rule(
        id=rid,
        provider=str(raw["provider"]),
        name=str(raw["name"]),
        description=str(raw.get("description", "")).strip(),
        regex=str(raw["regex"]),
        keywords=keywords,
        severity=severity,
        remediation=str(raw.get("remediation", "")).strip(),
        context=_str_list(raw.get("context"), where, "context"),
        context_lines=max(0, min(context_lines, 10)),
        min_entropy=min_entropy,
        confidence=str(raw.get("confidence", "high")),
        references=_str_list(raw.get("references"), where, "references"),
        positives=_str_list(examples.get("positive"), where, "examples.positive"),
        negatives=_str_list(examples.get("negative"), where, "examples.negative"),
        source=source,
    )
    if shape is not None and len(shape) == 2:
        rule.max_width, rule.multiline = int(shape[0]), bool(shape[1])
    else:
        rule._compiled, rule.max_width, rule.multiline = compile_regex(rule.regex, where)
    if rule.context:
        # the engine looks for the context words to find candidate lines
        rule.keywords = tuple(dict.fromkeys(rule.keywords + rule.context))
    return rule


def compile_regex(pattern: str, where: str) -> tuple[re.Pattern[str], int, bool]:
    """Compile a rule's regex once its shape is known to be safe (see ``regex.compile_rule_regex``)."""
    try:
        return compile_rule_regex(pattern)
    except RegexError as exc:
        raise RuleError(f"{where}: {exc}") from None
