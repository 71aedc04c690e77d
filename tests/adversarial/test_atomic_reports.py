"""Reports are written atomically: a temp file beside the target, then a rename. A run killed or
failing mid-write leaves the old report whole (or none), never half a SARIF; a normal run leaves
no temp file; a pipe or a device named with --output is written in place, never replaced."""
from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema

from ..helpers import key

ROOT = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
OLD_REPORT = '{"old": "report"}\n'


def many_keys_tree(top: Path, n: int) -> Path:
    """A tree whose SARIF report is large (about 1.1 KiB per finding)."""
    base = key("google-api-key", 950)
    tree = top / "tree"
    tree.mkdir()
    with open(tree / "keys.env", "w") as fh:
        for i in range(n):
            fh.write(f"K{i}={base[:-10]}{hashlib.sha256(str(i).encode()).hexdigest()[:10]}\n")
    return tree


def keyguard_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "keyguard", "scan", *args]


def test_a_run_killed_while_writing_its_sarif_leaves_the_old_report_whole(tmp_path):
    many_keys_tree(tmp_path, 10_000)
    report = tmp_path / "out" / "report.sarif"
    report.parent.mkdir()
    report.write_text(OLD_REPORT)
    proc = subprocess.Popen(keyguard_cmd("tree", "--format", "sarif", "-o", str(report)), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    temp = None
    deadline = time.monotonic() + 60
    while temp is None and proc.poll() is None and time.monotonic() < deadline:
        temps = [p for p in report.parent.iterdir() if p != report]
        if temps:
            temp = temps[0]
            if temp.stat().st_size > 0:  # writing has begun: kill it now
                proc.send_signal(signal.SIGKILL)
            else:
                temp = None
        time.sleep(0.001)
    proc.wait(timeout=60)
    if proc.returncode == -signal.SIGKILL:
        assert report.read_text() == OLD_REPORT
        # SIGKILL leaves no chance to clean up: what is left is the temp file, by its name
        assert [p.name for p in report.parent.iterdir() if p != report] == [temp.name]
        assert temp.name.startswith(".keyguard-") and temp.name.endswith(".tmp")
    else:  # the run won the race: then the report must be the whole new one
        assert proc.returncode == 1
        jsonschema.validate(json.loads(report.read_text()), SARIF_SCHEMA)
        assert list(report.parent.iterdir()) == [report]


def test_a_write_failing_midway_keeps_the_old_report_and_removes_the_temp_file(tmp_path):
    """The file-size limit (RLIMIT_FSIZE, 1 MiB) stops the write of a ~5 MiB SARIF with EFBIG
    part-way, as a full disk would: one error line, exit 2, the old report untouched."""
    many_keys_tree(tmp_path, 5_000)
    report = tmp_path / "report.sarif"
    report.write_text(OLD_REPORT)
    limit = 2**20

    def cap() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    r = subprocess.run(keyguard_cmd("tree", "--format", "sarif", "-o", "report.sarif"), cwd=tmp_path,
                       capture_output=True, text=True, timeout=120, preexec_fn=cap)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == ["Error: cannot write report.sarif: File too large"]
    assert report.read_text() == OLD_REPORT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.sarif", "tree"]


def test_a_normal_run_replaces_the_report_and_leaves_no_temp_file(tmp_path):
    many_keys_tree(tmp_path, 10)
    (tmp_path / "out").mkdir()
    report = tmp_path / "out" / "report.sarif"
    report.write_text(OLD_REPORT)
    r = subprocess.run(keyguard_cmd("tree", "--format", "sarif", "-o", "out/report.sarif"), cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stdout == "", r.stderr
    jsonschema.validate(json.loads(report.read_text()), SARIF_SCHEMA)
    assert os.listdir(tmp_path / "out") == ["report.sarif"]
    # the temp file's 0600 does not stick: a replaced report keeps its mode, a new one gets the
    # mode the umask gives
    report.chmod(0o640)
    r = subprocess.run(keyguard_cmd("tree", "--format", "sarif", "-o", "out/report.sarif"), cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and stat.S_IMODE(report.stat().st_mode) == 0o640
    r = subprocess.run(keyguard_cmd("tree", "--format", "json", "-o", "out/new.json"), cwd=tmp_path,
                       capture_output=True, text=True, timeout=120, preexec_fn=lambda: os.umask(0o022))
    assert r.returncode == 1 and stat.S_IMODE((tmp_path / "out" / "new.json").stat().st_mode) == 0o644


def test_dev_stdout_and_a_fifo_are_written_in_place_not_replaced(tmp_path):
    many_keys_tree(tmp_path, 10)
    stdout_link = os.readlink("/dev/stdout") if os.path.islink("/dev/stdout") else None
    r = subprocess.run(keyguard_cmd("tree", "--format", "sarif", "-o", "/dev/stdout"), cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    jsonschema.validate(json.loads(r.stdout), SARIF_SCHEMA)
    assert (os.readlink("/dev/stdout") if os.path.islink("/dev/stdout") else None) == stdout_link
    assert not [n for n in os.listdir("/dev") if n.startswith(".keyguard-")]

    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    r = subprocess.run(keyguard_cmd("tree", "--format", "sarif", "-o", str(fifo)), cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    reader.join(timeout=30)
    assert r.returncode == 1, r.stderr
    jsonschema.validate(json.loads(received[0]), SARIF_SCHEMA)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the FIFO: written through, not replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.fifo", "tree"]
