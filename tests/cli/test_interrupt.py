"""Ctrl-C: keyguard stops at once, exits 130 (never 1, the code for findings), and leaves old reports whole."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..helpers import key, write
from ..standin import StandIn, reply, slow

LIVE = reply(200, {"object": "list", "data": [{"id": "gpt-4o", "object": "model"}]})


def start(args: list[str], cwd: Path, env: dict[str, str], stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "keyguard", *args], cwd=cwd, env=env, stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def interrupt(p: subprocess.Popen) -> tuple[int, float, str]:
    """SIGINT, as a terminal's Ctrl-C sends it; (exit code, seconds it took to stop, stderr)."""
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    return p.returncode, time.monotonic() - sent, err


def test_ctrl_c_during_verify_stops_at_once_and_keeps_the_old_report(tmp_path: Path) -> None:
    write(tmp_path / "src" / "llm.py", f'OPENAI_API_KEY = "{key("openai-project-key", 921)}"\n')
    old = tmp_path / "report.json"
    old.write_text('{"old": "report"}\n')
    with StandIn({("GET", "*"): slow(60, LIVE)}) as hung:  # answers long after the read time-out
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYGUARD_")}
        env["KEYGUARD_ENDPOINTS"] = f"api.openai.com={hung.url}"
        p = start(["scan", "src", "--verify", "--format", "json", "-o", str(old)], tmp_path, env)
        deadline = time.monotonic() + 60
        while not hung.requests and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        assert hung.requests, p.communicate()
        time.sleep(0.3)  # the request is in flight, waiting on the server
        code, took, err = interrupt(p)
    assert code == 130, err
    assert took < 3, f"took {took:.1f} s to stop"  # the request's 15 s read time-out is not waited for
    assert "Traceback" not in err and "interrupted" in err.lower()
    assert old.read_text() == '{"old": "report"}\n'
    assert not list(tmp_path.glob(".keyguard-*.tmp"))


def test_ctrl_c_during_a_scan_exits_130_not_1(tmp_path: Path) -> None:
    """Reading standard input that never ends: the run is interrupted, with a key already read."""
    r, w = os.pipe()
    p = start(["scan", "-"], tmp_path, dict(os.environ), stdin=r)
    os.close(r)
    os.write(w, f'OPENAI_API_KEY = "{key("openai-project-key", 922)}"\n'.encode())
    time.sleep(1.0)
    code, _, err = interrupt(p)
    os.close(w)
    assert code == 130, err
    assert "Traceback" not in err
