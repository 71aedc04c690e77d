"""Deterministic sharding: which of ``count`` shards scans a file or a git blob (by its path).

The split depends only on the key (a file's shown path, relative to the scanned root, with
``/`` separators), so any scheduler — a GitHub Actions matrix, Kubernetes Jobs, a Dask or Ray
cluster — can run shard ``1/N`` ... ``N/N`` anywhere and the shards cover every file exactly once.
"""
from __future__ import annotations

import hashlib


def in_shard(key: str, index: int, count: int) -> bool:
    """True if ``key`` belongs to shard ``index`` of ``count`` (1-based, as ``--shard I/N``)."""
    if count == 1:
        return True
    digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count == index - 1


def parse_shard(spec: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``; ValueError with a one-line reason otherwise."""
    try:
        i_s, n_s = spec.split("/")
        index, count = int(i_s), int(n_s)
    except ValueError:
        raise ValueError(f"{spec!r}: expected I/N, e.g. 1/4") from None
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"{spec!r}: I must be between 1 and N")
    return index, count
