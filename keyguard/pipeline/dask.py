"""``--dask local[:N]`` or ``--dask tcp://HOST:8786``: per-repository scans as Dask tasks.

``local[:N]`` starts a ``LocalCluster`` of N worker processes (one thread each: a history scan
already keeps git and Python busy) that lives as long as the scan; ``tcp://...`` uses an existing
scheduler, whose workers must have keyguard installed (and, for private repositories, the
token variables set in their own environment). Results come back as each task ends; the caller
orders them, so findings are the same as without Dask. Dask is imported only here, only when
asked for (the ``dask`` extra: ``pip install '.[dask]'`` in keyguard's clone).
"""
from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterator

INSTALL_HINT = "--dask needs Dask: in your keyguard clone, .venv/bin/pip install '.[dask]'"
_LOCAL = re.compile(r"local(?::(\d+))?")


class DaskError(Exception):
    """Dask is missing, the spec is malformed, or the scheduler cannot be reached."""


def parse_spec(spec: str) -> tuple[str, int | str]:
    """``local`` / ``local:N`` -> ("local", N); ``tcp://HOST:PORT`` -> ("tcp", address)."""
    m = _LOCAL.fullmatch(spec.strip())
    if m:
        n = int(m.group(1) or 0)
        if m.group(1) is not None and n < 1:
            raise DaskError(f"--dask {spec}: N must be at least 1")
        return "local", n
    if re.fullmatch(r"tcp://[\w.\-\[\]:]+:\d+", spec.strip()):
        return "tcp", spec.strip()
    raise DaskError(f"--dask {spec}: expected local, local:N or tcp://HOST:PORT")


@contextmanager
def dask_executor(spec: str) -> Iterator[Callable[..., Iterator[dict[str, Any]]]]:
    """An executor (see ``repos.Executor``) on the cluster ``spec`` names."""
    kind, where = parse_spec(spec)
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise DaskError(INSTALL_HINT) from None
    cluster = None
    try:
        if kind == "local":
            import os

            n = int(where) or min(4, len(os.sched_getaffinity(0)))
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            client = Client(str(where), timeout="20s")
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise DaskError(f"--dask {spec}: cannot reach the scheduler ({exc})") from None

    def run(fn: Callable[..., dict[str, Any]], jobs: list[Any], opts: Any) -> Iterator[dict[str, Any]]:
        if not jobs:
            return
        futures = client.map(fn, jobs, opts=opts, pure=False)
        job_of = {f.key: job for f, job in zip(futures, jobs)}
        try:
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as exc:  # a worker died under this task: the others go on
                    job = job_of[future.key]
                    yield {"name": job.name, "url": job.url, "status": "failed",
                           "error": f"{job.name}: Dask task failed ({type(exc).__name__})"}
        finally:
            client.cancel(futures)

    try:
        yield run
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
