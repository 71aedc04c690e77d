"""Baselines: the findings a team has accepted, so that only new ones are reported.

keyguard's own file (``.keyguard-baseline.json``)::

    {
      "entries": [
        {"path": "src/app.py", "rule_id": "google-api-key", "secret_sha256": "3f1c..."}
      ],
      "version": 1
    }

An entry is a content fingerprint: rule, SHA-256 of the secret, and the path relative to the
scanned root. No plaintext, no line numbers, no timestamps; entries are unique and sorted, keys
are sorted and the layout is fixed, so moving code within a file changes nothing, and two branches
that each add an entry merge like any sorted list.

A detect-secrets baseline (``.secrets.baseline``) is honoured too: its ``hashed_secret`` is the
SHA-1 of the secret, matched together with ``filename``. Entries audited as real secrets
(``"is_secret": true``) are not honoured — a confirmed leak stays reported until it is rotated
and removed.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..model import Finding
from ..config.pathspec import normalize

FORMAT_VERSION = 1
DEFAULT_PATH = ".keyguard-baseline.json"
DETECT_SECRETS_NAME = ".secrets.baseline"


class BaselineError(Exception):
    """A baseline file that cannot be used; the message names the file."""


@dataclass(frozen=True, order=True)
class Entry:
    path: str
    rule_id: str
    secret_sha256: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "rule_id": self.rule_id, "secret_sha256": self.secret_sha256}


def entry_for(f: Finding) -> Entry:
    return Entry(normalize(f.path), f.rule.id, f.secret_sha256)


def secret_sha1(f: Finding) -> str:
    return hashlib.sha1(f.secret.encode("utf-8", "surrogatepass")).hexdigest()  # noqa: S324


@dataclass
class Baseline:
    entries: set[Entry] = field(default_factory=set)
    # from a detect-secrets baseline: (path, sha1 of the secret)
    sha1_entries: set[tuple[str, str]] = field(default_factory=set)
    real_secrets: int = 0  # detect-secrets entries audited as real, which are not honoured

    def __contains__(self, f: Finding) -> bool:
        if entry_for(f) in self.entries:
            return True
        return bool(self.sha1_entries) and (normalize(f.path), secret_sha1(f)) in self.sha1_entries

    def merge(self, other: "Baseline") -> None:
        self.entries |= other.entries
        self.sha1_entries |= other.sha1_entries
        self.real_secrets += other.real_secrets


def dumps(entries: Iterable[Entry]) -> str:
    """The file's text: stable for the same set of entries, whatever their order."""
    doc = {"entries": [e.as_dict() for e in sorted(set(entries))], "version": FORMAT_VERSION}
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def load(path: str) -> Baseline:
    """A keyguard or a detect-secrets baseline, told apart by their top-level keys."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such baseline file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read baseline: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}") from None
    except RecursionError:
        raise BaselineError(f"{path}: not valid JSON: nested too deeply") from None
    if isinstance(doc, dict) and "entries" in doc:
        return Baseline(entries=_keyguard_entries(doc, path))
    if isinstance(doc, dict) and isinstance(doc.get("results"), dict):
        return read_detect_secrets(doc, path)
    raise BaselineError(
        f"{path}: not a keyguard baseline (no 'entries') nor a detect-secrets baseline (no 'results')"
    )


def _keyguard_entries(doc: dict[str, Any], path: str) -> set[Entry]:
    if doc.get("version") != FORMAT_VERSION:
        raise BaselineError(f"{path}: version: unsupported baseline version {doc.get('version')!r}")
    raw = doc["entries"]
    if not isinstance(raw, list):
        raise BaselineError(f"{path}: entries: must be a list")
    out = set()
    for i, e in enumerate(raw):
        if not (
            isinstance(e, dict)
            and all(isinstance(e.get(k), str) and e.get(k) for k in ("path", "rule_id", "secret_sha256"))
            and len(e["secret_sha256"]) == 64
        ):
            raise BaselineError(f"{path}: entries[{i}]: needs path, rule_id and a 64-hex secret_sha256")
        out.add(Entry(normalize(e["path"]), e["rule_id"], e["secret_sha256"].lower()))
    return out


def read_detect_secrets(doc: dict[str, Any], path: str) -> Baseline:
    base = Baseline()
    for filename, items in doc["results"].items():
        if not isinstance(items, list):
            raise BaselineError(f"{path}: results[{filename!r}]: must be a list")
        for i, item in enumerate(items):
            digest = item.get("hashed_secret") if isinstance(item, dict) else None
            if not isinstance(digest, str) or len(digest) != 40:
                raise BaselineError(f"{path}: results[{filename!r}][{i}]: no 40-hex hashed_secret")
            if item.get("is_secret") is True:
                base.real_secrets += 1
                continue
            base.sha1_entries.add((normalize(str(item.get("filename") or filename)), digest.lower()))
    return base
