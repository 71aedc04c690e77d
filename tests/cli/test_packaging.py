"""The wheel ships rules/ and the console script works from another folder."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from ..conftest import ROOT


def test_wheel_ships_rules_and_runs_elsewhere(tmp_path, make_key):
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(wheel_dir), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    [wheel] = list(wheel_dir.glob("keyguard-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.rsplit("/", 1)[-1] for n in names if n.startswith("keyguard/rules/")}
    assert {p.name for p in (ROOT / "rules").glob("*.yml")} | {"builtin-rules.json", "known-examples.json"} <= shipped
    assert any(n.endswith("entry_points.txt") for n in names)
    assert {"keyguard/audit/gcp.py", "keyguard/audit/openai.py", "keyguard/audit/anthropic.py"} <= set(names)

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "app.env").write_text(f"GEMINI_API_KEY={make_key('google-api-key')}\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    p = subprocess.run(
        [sys.executable, "-c", "import keyguard, sys; print(keyguard.__file__); "
         "from keyguard.cli import main; sys.argv=['keyguard','scan','.']; main()"],
        cwd=elsewhere, env=env, capture_output=True, timeout=60,
    )
    assert p.stdout.decode().splitlines()[0].startswith(str(site))
    assert p.returncode == 1, p.stderr
    assert b"google-api-key" in p.stdout


def test_the_version_agrees_everywhere_it_is_written() -> None:
    """docs/release.md: the version is set in pyproject.toml and keyguard/__init__.py, and logged."""
    import re
    import tomllib

    import keyguard

    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert keyguard.__version__ == version
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## Unreleased" in changelog
    assert re.search(rf"^## {re.escape(version)}\b", changelog, re.M), f"CHANGELOG.md has no {version} section"
