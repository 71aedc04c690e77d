"""Compiled Hyperscan databases kept on disk: loaded when whole and made by the same build,
compiled again otherwise, and never a reason for a scan to fail."""
from __future__ import annotations

import os

import pytest

hs = pytest.importorskip("hyperscan")

from keyguard.detect import hs_cache  # noqa: E402


def matches(db, data: bytes) -> list[tuple[int, int]]:
    got: list[tuple[int, int]] = []
    db.scan(data, match_event_handler=lambda i, s, e, f, c: got.append((i, e)))
    return got


def stored(where) -> list[str]:
    return sorted(p for p in os.listdir(where) if p.endswith(".hsdb"))


def test_a_database_is_compiled_once_then_loaded(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KEYGUARD_CACHE_DIR", str(tmp_path))
    where = tmp_path / "hyperscan"
    first = hs_cache.compiled(hs, [b"ab+c", b"xyz"], [0, hs.HS_FLAG_CASELESS], hs.HS_MODE_BLOCK)
    assert len(stored(where)) == 1
    second = hs_cache.compiled(hs, [b"ab+c", b"xyz"], [0, hs.HS_FLAG_CASELESS], hs.HS_MODE_BLOCK)
    assert matches(first, b"abbc XYZ") == matches(second, b"abbc XYZ") == [(0, 4), (1, 8)]
    # other flags, other expressions: another database
    hs_cache.compiled(hs, [b"ab+c", b"xyz"], [0, 0], hs.HS_MODE_BLOCK)
    assert len(stored(where)) == 2


def test_a_damaged_file_is_compiled_again(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KEYGUARD_CACHE_DIR", str(tmp_path))
    where = tmp_path / "hyperscan"
    hs_cache.compiled(hs, [b"token"], [0], hs.HS_MODE_BLOCK)
    (name,) = stored(where)
    path = where / name
    path.write_bytes(path.read_bytes()[:-10])
    db = hs_cache.compiled(hs, [b"token"], [0], hs.HS_MODE_BLOCK)
    assert matches(db, b"a token") == [(0, 7)]
    assert len(path.read_bytes()) > 32  # written again, whole


def test_no_cache_unless_named_or_when_unwritable(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("KEYGUARD_CACHE_DIR", raising=False)
    assert hs_cache.cache_dir() is None
    assert matches(hs_cache.compiled(hs, [b"q"], [0], hs.HS_MODE_BLOCK), b"q") == [(0, 1)]
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("KEYGUARD_CACHE_DIR", str(blocker))  # a file where the directory would be
    assert matches(hs_cache.compiled(hs, [b"q"], [0], hs.HS_MODE_BLOCK), b"q") == [(0, 1)]
