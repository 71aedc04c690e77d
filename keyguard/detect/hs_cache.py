"""Compiled Hyperscan databases kept on disk between runs, in a directory the user names.

Compiling the byte gate's database (the rules' patterns) costs 0.15 s, paid before any file is
scanned and before workers fork; loading a serialized one costs about a millisecond. A database
is stored under a name made from everything its compilation reads (the expressions, their flags
and ids, the mode, the Hyperscan build and the machine), with a SHA-256 of its bytes checked on
load: a database that is missing, damaged, written by another build or refused by Hyperscan is
compiled as before. Nothing here may fail a scan: an unwritable cache is no cache.

Off unless ``KEYGUARD_CACHE_DIR`` names the directory: keyguard writes only what its user named.
"""
from __future__ import annotations

import hashlib
import os
from typing import Any

KEEP = 24  # databases kept; the oldest go when more are written


def cache_dir() -> str | None:
    where = os.environ.get("KEYGUARD_CACHE_DIR")
    return os.path.join(where, "hyperscan") if where else None


def _key(hs: Any, expressions: list[bytes], flags: list[int], ids: list[int], mode: int,
         literal: bool) -> str:
    import platform

    h = hashlib.sha256()
    h.update(repr((getattr(hs, "__version__", ""), getattr(hs, "__file__", ""), platform.machine(),
                   mode, literal, flags, ids)).encode())
    for e in expressions:
        h.update(len(e).to_bytes(4, "little"))
        h.update(e)
    return h.hexdigest()[:40]


def compiled(hs: Any, expressions: list[bytes], flags: list[int], mode: int,
             literal: bool = False, ids: list[int] | None = None) -> Any:
    """A Hyperscan database of ``expressions``: loaded from the cache, else compiled (and kept).
    Raises what ``Database.compile`` raises for expressions it refuses."""
    ids = list(range(len(expressions))) if ids is None else ids
    where = cache_dir()
    path = None
    if where is not None:
        path = os.path.join(where, _key(hs, expressions, flags, ids, mode, literal) + ".hsdb")
        db = _load(hs, path, mode)
        if db is not None:
            return db
    db = hs.Database(mode=mode)
    kw = {"literal": True} if literal else {}
    db.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=flags, **kw)
    if path is not None:
        _store(hs, db, path)
    return db


def _load(hs: Any, path: str, mode: int) -> Any:
    try:
        with open(path, "rb") as fh:
            blob = fh.read()
    except OSError:
        return None
    digest, body = blob[:32], blob[32:]
    if len(digest) != 32 or hashlib.sha256(body).digest() != digest:
        return None
    try:
        db = hs.loadb(body, mode)
        db.scratch = hs.Scratch(db)  # compile() makes one; a loaded database has none
    except Exception:  # another Hyperscan build or platform: compiled again
        return None
    try:
        os.utime(path)  # recently used: kept when older ones are pruned
    except OSError:
        pass
    return db


def _store(hs: Any, db: Any, path: str) -> None:
    import tempfile

    try:
        body = hs.dumpb(db)
        where = os.path.dirname(path)
        os.makedirs(where, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(hashlib.sha256(body).digest() + body)
            os.replace(tmp, path)  # readers see the old file or the whole new one
        except BaseException:
            try:
                os.unlink(tmp)
            finally:
                raise
        _prune(where)
    except Exception:  # a read-only home, a full disk: no cache, the scan goes on
        return


def _prune(where: str) -> None:
    entries = []
    with os.scandir(where) as it:
        for e in it:
            if e.name.endswith(".hsdb"):
                entries.append((e.stat().st_mtime, e.path))
    for _, p in sorted(entries)[:-KEEP]:
        try:
            os.unlink(p)
        except OSError:
            pass
