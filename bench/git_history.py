"""Full-history scan of one repository: keyguard vs gitleaks ``git`` vs Kingfisher, same clone, same run.

    python bench/git_history.py REPO [--reps 3] [--gitleaks PATH] [--kingfisher PATH] [--before-src DIR]
    python bench/git_history.py --build-large DIR [--steps 8]   # tens of thousands of commits
    python bench/git_history.py --build-stdlib DIR               # a few hundred commits

Prints the median wall time, CPU (user+sys) and the highest peak memory of each tool (from
``resource.getrusage`` of a fresh child), the blobs and bytes keyguard read, findings per tool,
and keyguard's ratios; ``git cat-file --batch-all-objects --unordered --batch`` is the floor
(reading every object once, scanning nothing). Runs are interleaved tool by tool.

Both builders make real-code histories without network, from the standard libraries of the
pyenv CPythons (2.7 to 3.13 here) and factory-made keys:

- ``--build-large`` (``git fast-import``): the libraries' .py files, oldest version to newest,
  each move from one version to the next made file by file, a modified file in up to
  ``--steps`` commits (its line diff's hunks applied a group at a time), so every blob is real
  code on its way between two releases;
- ``--build-stdlib``: one commit per version's library, then 300 small edits.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.test",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.test"}


def measure(cmd: list[str], pythonpath: str | None = None) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak MiB, exit code) of ``cmd``, run in a fresh child so rusage is its own."""
    code = (
        "import resource,subprocess,sys,time,json;t=time.perf_counter();"
        "p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
        "w=time.perf_counter()-t;r=resource.getrusage(resource.RUSAGE_CHILDREN);"
        "print(json.dumps([w,r.ru_utime+r.ru_stime,r.ru_maxrss/1024,p.returncode]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as installed
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True, env=env).stdout
    wall, cpu, mib, rc = json.loads(out)
    return wall, cpu, mib, rc


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


def _stdlib_versions() -> list[tuple[str, dict[str, bytes]]]:
    """(version, {path: bytes}) of every .py file of each pyenv CPython's standard library
    (site-packages and caches left out), oldest version first."""
    pyenv = Path.home() / ".pyenv" / "versions"
    versions = sorted((v for v in pyenv.iterdir() if (v / "lib").is_dir()),
                      key=lambda v: tuple(int(x) for x in v.name.split(".")[:3] if x.isdigit()))
    out = []
    for v in versions:
        lib = next((v / "lib").glob("python[0-9]*"))
        files = {}
        for path in sorted(lib.rglob("*.py")):
            rel = path.relative_to(lib)
            if rel.parts[0] == "site-packages" or "__pycache__" in rel.parts or not path.is_file():
                continue
            files["Lib/" + rel.as_posix()] = path.read_bytes()
        out.append((v.name, files))
    return out


def _steps(old: bytes, new: bytes, most: int) -> list[bytes]:
    """Intermediate versions of a file on its way from ``old`` to ``new``: the line diff's
    hunks applied a group at a time, at most ``most`` versions, the last one ``new``."""
    import difflib

    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    hunks = [op for op in difflib.SequenceMatcher(None, a, b, autojunk=True).get_opcodes() if op[0] != "equal"]
    if len(hunks) <= 1 or most <= 1:
        return [new]
    per = -(-len(hunks) // most)
    out = []
    for done in range(per, len(hunks), per):
        # hunks [0, done) applied: new's lines up to the end of the last applied hunk, then old's
        i2, j2 = hunks[done - 1][2], hunks[done - 1][4]
        out.append(b"".join(b[:j2] + a[i2:]))
    out.append(new)
    return out


def build_large(dest: Path, most_steps: int = 8) -> None:
    """A long real-code history, built with ``git fast-import``: the standard libraries of the
    pyenv CPythons, oldest to newest, each move from one version to the next made file by file,
    a modified file in up to ``most_steps`` commits (its line diff's hunks applied a group at a
    time), so every blob is real code on its way between two releases. Two factory-made keys
    are added a third of the way in and deleted in the next commit; a third is put on top of
    the file that changes two thirds of the way in, and stays there until that file changes
    again."""
    from tests.helpers import key

    if dest.exists():
        shutil.rmtree(dest)
    subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], check=True)
    versions = _stdlib_versions()
    changes: list[tuple[str, str, bytes | None]] = []  # (message, path, content or None: delete)
    current: dict[str, bytes] = {}
    for name, files in versions:
        for path in sorted(set(current) | set(files)):
            old, new = current.get(path), files.get(path)
            if old == new:
                continue
            if new is None:
                changes.append((f"{name}: delete {path}", path, None))
            elif old is None:
                changes.append((f"{name}: add {path}", path, new))
            else:
                steps = _steps(old, new, most_steps)
                for i, body in enumerate(steps, 1):
                    changes.append((f"{name}: {path} ({i}/{len(steps)})", path, body))
        current = dict(files)
    leak_at, line_at = len(changes) // 3, 2 * len(changes) // 3
    proc = subprocess.Popen(["git", "-C", str(dest), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    out = proc.stdin
    assert out is not None

    def data(body: bytes) -> None:
        out.write(b"data %d\n" % len(body) + body + b"\n")

    planted = f'OPENAI_API_KEY = "{key("openai-project-key", 903)}"\n'.encode()
    for n, (message, path, body) in enumerate(changes):
        out.write(b"commit refs/heads/main\ncommitter bench <bench@example.test> %d +0000\n"
                  % (1_500_000_000 + n * 60))
        data(message.encode())
        if body is None:
            out.write(b"D %s\n" % path.encode())
        else:
            if n >= line_at and planted:
                body, planted = planted + body, b""
            out.write(b"M 100644 inline %s\n" % path.encode())
            data(body)
        if n == leak_at:
            out.write(b"M 100644 inline Lib/leak_config.py\n")
            data(f'GEMINI_API_KEY = "{key("google-api-key", 900)}"\n'
                 f'OPENAI_API_KEY = "{key("openai-project-key", 901)}"\n'.encode())
        if n == leak_at + 1:
            out.write(b"D Lib/leak_config.py\n")
        out.write(b"\n")
    out.close()
    if proc.wait():
        sys.exit("git fast-import failed")
    subprocess.run(["git", "-C", str(dest), "reset", "-q", "--hard"], check=True)
    subprocess.run(["git", "-C", str(dest), "gc", "-q"], check=True)
    print(f"{len(changes)} commits, from {len(versions)} standard libraries: "
          + ", ".join(name for name, _ in versions))


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
    ap.add_argument("--build-large", metavar="DIR", help="tens of thousands of commits (git fast-import)")
    ap.add_argument("--steps", type=int, default=8, help="--build-large: commits per modified file, at most")
    ap.add_argument("--reps", type=int, default=1, help="runs of each tool; the median is printed")
    ap.add_argument("--before-src", help="also run keyguard from this tree (an older commit), as 'before'")
    ap.add_argument("--gitleaks", default=shutil.which("gitleaks"))
    ap.add_argument("--kingfisher", default=shutil.which("kingfisher"))
    ap.add_argument("--out", default="/tmp/keyguard-bench-history")
    a = ap.parse_args()
    if a.build_stdlib:
        build_stdlib(Path(a.build_stdlib))
        print(f"built {a.build_stdlib}")
        return
    if a.build_large:
        build_large(Path(a.build_large), a.steps)
        print(f"built {a.build_large}")
        return
    if not a.repo:
        ap.error("give REPO or --build-stdlib DIR")
    repo, out = a.repo, Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    commits = subprocess.run(["git", "-C", repo, "rev-list", "--all", "--count"], capture_output=True,
                             text=True, check=True).stdout.strip()
    kg = out / "keyguard.json"
    gl = out / "gitleaks.json"
    kf = out / "kingfisher.json"
    tools = {
        "git cat-file --batch-all-objects --unordered --batch":
            (["git", "-C", repo, "cat-file", "--batch-all-objects", "--unordered", "--batch"], None),
        "keyguard scan --history":
            ([sys.executable, "-m", "keyguard", "scan", repo, "--history", "--format", "json", "-o", str(kg)],
             lambda: count_json(kg, "findings")),
    }
    if a.before_src:  # -P: the tree on PYTHONPATH, not the current directory
        tools["keyguard before"] = ([sys.executable, "-P", "-m", "keyguard", "scan", repo, "--history",
                                     "--format", "json", "-o", str(out / "before.json")],
                                    lambda: count_json(out / "before.json", "findings"))
    if a.gitleaks:
        tools["gitleaks git"] = ([a.gitleaks, "git", repo, "--no-banner", "-f", "json", "-r", str(gl)],
                                 lambda: count_json(gl))
    if a.kingfisher:
        tools["kingfisher scan --git-history full"] = (
            [a.kingfisher, "scan", repo, "--git-history", "full", "--no-validate", "--format", "json",
             "--no-update-check", "--output", str(kf)], lambda: count_json(kf, "findings"))
    rows = {}
    for _ in range(a.reps):  # tools interleaved, so that a busy spell hits all of them alike
        for name, (cmd, count) in tools.items():
            wall, cpu, mib, _ = measure(cmd, a.before_src if name == "keyguard before" else None)
            row = rows.setdefault(name, {"wall": [], "cpu": [], "mib": [], "findings": None})
            row["wall"].append(wall)
            row["cpu"].append(cpu)
            row["mib"].append(mib)
            row["findings"] = count() if count else None
    doc = json.loads(kg.read_text())
    st = doc["stats"]
    print(f"{repo}: {commits} commits; keyguard read {st['git']['blobs']} blobs, {st['bytes'] / 1e6:.0f} MB; "
          f"median of {a.reps}")
    print(f"{'tool':54} {'wall s':>7} {'cpu s':>7} {'peak MiB':>9} {'findings':>9}")
    med = {}
    for name, row in rows.items():
        med[name] = statistics.median(row["wall"])
        print(f"{name:54} {med[name]:7.2f} {statistics.median(row['cpu']):7.2f} {max(row['mib']):9.0f} "
              f"{'-' if row['findings'] is None else row['findings']:>9}")
    kgw = med["keyguard scan --history"]
    for name, w in med.items():
        if not name.startswith("keyguard"):
            print(f"keyguard/{name.split(' --')[0]}: {kgw / w:.2f}x")


if __name__ == "__main__":
    main()
