"""A GitHub Actions run's logs archive as ``ScanText``s, each located by run, job and step.

The archive GitHub serves holds one ``N_JOB.txt`` per job (its whole log) and, usually, a
``JOB/`` folder with one ``N_STEP.txt`` per step. A job is read from its step files when they
are there (so a finding names its step and its line in that step's log), else from the job's
file. Each line starts with the runner's timestamp; lines are kept as they are, so a finding's
line and column are those of the log.

GitHub writes ``***`` where a registered secret was printed: a match that holds the mask is what
is left of a secret GitHub already hid, not a key, and is dropped (``unmasked``).
"""
from __future__ import annotations

import io
import re
import zipfile
from typing import Any, Iterator

from ..model import Finding, ScanText, Stats

MASK = "***"
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # one log, decompressed
MAX_TOTAL_BYTES = 1024 * 1024 * 1024  # one archive, decompressed
_NUMBERED = re.compile(r"(\d+)_(.+)\.txt")


def log_texts(data: bytes, run: dict[str, Any], repo: str, stats: Stats) -> Iterator[ScanText]:
    """The logs in the archive ``data`` of ``run`` (the API's workflow run object) of OWNER/REPO."""
    run_id = run.get("id")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        stats.skip(f"{repo}/actions/runs/{run_id}", "logs archive is not a zip file")
        return
    jobs: list[tuple[int, str, zipfile.ZipInfo]] = []
    steps: dict[str, list[tuple[int, str, zipfile.ZipInfo]]] = {}
    for info in archive.infolist():
        if info.is_dir():
            continue
        folder, _, base = info.filename.rpartition("/")
        m = _NUMBERED.fullmatch(base)
        if not m:
            continue  # JOB/system.txt: the runner's own set-up notes
        entry = (int(m.group(1)), m.group(2), info)
        if folder:
            steps.setdefault(folder, []).append(entry)
        else:
            jobs.append(entry)
    total = 0
    names = {job for _, job, _ in jobs}
    chosen: list[tuple[str, str | None, zipfile.ZipInfo]] = []
    for _, job, info in sorted(jobs, key=lambda e: e[0]):
        if steps.get(job):
            chosen += [(job, step, i) for _, step, i in sorted(steps[job], key=lambda e: e[0])]
        else:
            chosen.append((job, None, info))
    for job in sorted(set(steps) - names):  # step logs whose job file is missing
        chosen += [(job, step, i) for _, step, i in sorted(steps[job], key=lambda e: e[0])]
    for job, step, info in chosen:
        path = f"{repo}/actions/runs/{run_id}/{info.filename}"
        if info.file_size > MAX_MEMBER_BYTES or total + info.file_size > MAX_TOTAL_BYTES:
            stats.skip(path, f"log over {MAX_MEMBER_BYTES >> 20} MiB (or archive over "
                             f"{MAX_TOTAL_BYTES >> 20} MiB)")
            continue
        with archive.open(info) as fh:
            raw = fh.read(MAX_MEMBER_BYTES + 1)
        total += len(raw)
        stats.files += 1
        stats.bytes += len(raw)
        origin = {"repository": repo, "run": run_id, "run_number": run.get("run_number"),
                  "run_attempt": run.get("run_attempt"), "workflow": run.get("name"),
                  "head_sha": run.get("head_sha"), "run_url": run.get("html_url"), "job": job}
        if step is not None:
            origin["step"] = step
        yield ScanText(raw.decode("utf-8-sig", "replace"), path,
                       origin={k: v for k, v in origin.items() if v is not None})


def unmasked(findings: list[Finding]) -> list[Finding]:
    """Findings whose secret GitHub has not already masked."""
    return [f for f in findings if MASK not in f.secret]


class ActionsLogsSource:
    """The recent runs of OWNER/REPO as a source of the one orchestrator: each run's archive is
    downloaded and read in this process (the downloads are the slow part, not the scanning)."""

    pool_min_items = 1 << 30  # never a worker pool
    pool_min_jobs = 1 << 30

    def __init__(self, api: Any, repo: str, runs: int) -> None:
        self.api, self.repo, self.runs = api, repo, runs
        self.errors: list[str] = []

    def items(self, stats: Stats) -> Iterator[dict[str, Any]]:
        from .forges import workflow_runs

        listed = workflow_runs(self.api, self.repo, self.runs)
        stats.extra["actions"] = {"runs": len(listed)}
        yield from listed

    def batches(self, items: Iterator[Any]) -> Iterator[list[Any]]:
        for item in items:
            yield [item]

    def stays_here(self, item: Any) -> bool:
        return True

    def texts(self, batch: Any, stats: Stats, gate: Any) -> Iterator[ScanText]:
        from .forges import ForgeError, run_logs_zip

        for run in batch:
            try:
                data = run_logs_zip(self.api, self.repo, run["id"])
            except ForgeError as exc:
                self.errors.append(f"{self.repo}: {exc}")
                continue
            yield from log_texts(data, run, self.repo, stats)

    def refine(self, findings: list[Finding], stats: Stats, errors: list[str]) -> list[Finding]:
        errors.extend(self.errors)
        return unmasked(findings)
