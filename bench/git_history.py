"""Full-history scan of one repository: keyguard vs gitleaks ``git`` vs Kingfisher, same clone, same run.

    python bench/git_history.py REPO [--gitleaks PATH] [--kingfisher PATH]
    python bench/git_history.py --build-stdlib DIR   # a local repo when there is no network

Prints wall time and peak memory (``/usr/bin/time``-free: ``resource.getrusage`` of the child),
blobs and bytes keyguard read, and findings per tool; ``git cat-file --batch-all-objects --batch``
is the floor (reading every object once, scanning nothing).

``--build-stdlib`` makes a real-code history without network: one commit per installed CPython
version's standard library (pyenv), then 300 small edits, and one commit that adds two
factory-made keys which the next commit deletes.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.test",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.test"}


def measure(cmd: list[str], stdout: int | None = subprocess.DEVNULL) -> tuple[float, float, int]:
    """(seconds, peak MiB of the child, exit code); run in a fresh child so rusage is its own."""
    code = (
        "import resource,subprocess,sys,time,json;t=time.perf_counter();"
        "p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
        "print(json.dumps([time.perf_counter()-t,"
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024,p.returncode]))"
    )
    out = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True).stdout
    s, mib, rc = json.loads(out)
    return s, mib, rc


def build_stdlib(dest: Path) -> None:
    from tests.helpers import key

    if dest.exists():
        shutil.rmtree(dest)
    subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], check=True)
    pyenv = Path.home() / ".pyenv" / "versions"
    versions = sorted((v for v in pyenv.iterdir() if (v / "lib").is_dir()),
                      key=lambda v: tuple(int(x) for x in v.name.split(".")[:3] if x.isdigit()))
    for v in versions:
        lib = next((v / "lib").glob("python[0-9]*"))
        for child in dest.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        for path in lib.rglob("*"):
            rel = path.relative_to(lib)
            if rel.parts[0] == "site-packages" or "__pycache__" in rel.parts or not path.is_file():
                continue
            if path.suffix not in (".py", ".txt", ".cfg", ".json", ".pem"):
                continue
            target = dest / "Lib" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        subprocess.run(["git", "-C", str(dest), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(dest), "commit", "-qm", f"python {v.name}"], check=True, env=GIT_ENV)
    files = subprocess.run(["git", "-C", str(dest), "ls-files", "*.py"], capture_output=True,
                           text=True, check=True).stdout.split()
    rnd = random.Random(1)
    for i in range(300):
        for f in rnd.sample(files, 3):
            with open(dest / f, "a") as fh:
                fh.write(f"# edit {i}\n")
        leak = dest / "Lib" / "leak_config.py"
        if i == 150:
            leak.write_text(f'GEMINI_API_KEY = "{key("google-api-key", 900)}"\n'
                            f'OPENAI_API_KEY = "{key("openai-project-key", 901)}"\n')
        if i == 151:
            leak.unlink()
        subprocess.run(["git", "-C", str(dest), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(dest), "commit", "-qm", f"edit {i}"], check=True, env=GIT_ENV)
    subprocess.run(["git", "-C", str(dest), "gc", "-q"], check=True)


def count_json(path: Path, *keys: str) -> int:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return -1
    for k in keys:
        if isinstance(doc, dict):
            doc = doc.get(k, [])
    return len(doc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("repo", nargs="?")
    ap.add_argument("--build-stdlib", metavar="DIR")
    ap.add_argument("--gitleaks", default=shutil.which("gitleaks"))
    ap.add_argument("--kingfisher", default=shutil.which("kingfisher"))
    ap.add_argument("--out", default="/tmp/keyguard-bench-history")
    a = ap.parse_args()
    if a.build_stdlib:
        build_stdlib(Path(a.build_stdlib))
        print(f"built {a.build_stdlib}")
        return
    if not a.repo:
        ap.error("give REPO or --build-stdlib DIR")
    repo, out = a.repo, Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    s, mib, _ = measure(["git", "-C", repo, "cat-file", "--batch-all-objects", "--batch"])
    rows.append(("git cat-file --batch-all-objects --batch", s, mib, "-"))
    kg = out / "keyguard.json"
    s, mib, _ = measure([sys.executable, "-m", "keyguard", "scan", repo, "--history", "--format", "json", "-o", str(kg)])
    doc = json.loads(kg.read_text())
    st = doc["stats"]
    rows.append((f"keyguard --history ({st['git']['blobs']} blobs, {st['bytes'] / 1e6:.0f} MB)", s, mib,
                 str(len(doc["findings"]))))
    if a.gitleaks:
        gl = out / "gitleaks.json"
        s, mib, _ = measure([a.gitleaks, "git", repo, "--no-banner", "-f", "json", "-r", str(gl)])
        rows.append(("gitleaks git", s, mib, str(count_json(gl))))
    if a.kingfisher:
        kf = out / "kingfisher.json"
        s, mib, _ = measure([a.kingfisher, "scan", repo, "--git-history", "full", "--no-validate",
                             "--format", "json", "--output", str(kf)])
        rows.append(("kingfisher scan --git-history full", s, mib, str(count_json(kf, "findings"))))
    print(f"{'tool':58} {'wall s':>7} {'peak MiB':>9} {'findings':>9}")
    for name, s, mib, n in rows:
        print(f"{name:58} {s:7.2f} {mib:9.0f} {n:>9}")


if __name__ == "__main__":
    main()
