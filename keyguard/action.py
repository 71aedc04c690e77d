"""The GitHub Action's scan step (``python -m keyguard.action``), run by action.yml.

Picks what to scan from the event (a pull request's commits, a push's range, else the tree),
fetches a missing base itself, runs ``keyguard scan`` once to a SARIF file, and from that file
prints ``::error`` annotations, writes a Markdown summary and the step outputs. Secrets never
reach the log: SARIF holds only redacted keys.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from typing import Any

ZERO = "0" * 40
GIT = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=", "-c", "safe.directory=*"]


def log(msg: str) -> None:
    print(msg, flush=True)


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GIT, *args], capture_output=True, text=True,
                          env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})


def has_commit(sha: str) -> bool:
    return git("cat-file", "-e", f"{sha}^{{commit}}").returncode == 0


def ensure_base(base: str, depth_hint: int) -> bool:
    """Make ``base`` and a merge base with HEAD present, fetching (and deepening) as needed."""
    if not has_commit(base):
        log(f"keyguard: fetching base {base[:12]}")
        git("fetch", "--no-tags", "--quiet", "origin", base)
        if not has_commit(base):
            return False
    for depth in (depth_hint, 100, 1000):
        if git("merge-base", base, "HEAD").returncode == 0:
            return True
        if git("rev-parse", "--is-shallow-repository").stdout.strip() != "true":
            return False
        log(f"keyguard: deepening the shallow clone by {depth} commits")
        git("fetch", "--no-tags", "--quiet", f"--deepen={depth}", "origin", base, "HEAD")
    git("fetch", "--no-tags", "--quiet", "--unshallow", "origin")
    return git("merge-base", base, "HEAD").returncode == 0


def scan_args(event_name: str, event: dict[str, Any]) -> list[str]:
    """``--since BASE`` for a pull request or push, nothing (the tree) otherwise."""
    base, hint = None, 2
    if event_name in ("pull_request", "pull_request_target") and event.get("pull_request"):
        base = event["pull_request"]["base"]["sha"]
        hint = int(event["pull_request"].get("commits") or 1) + 1
    elif event_name == "push" and event.get("after") and event.get("after") != ZERO:
        base = event.get("before")
        hint = len(event.get("commits") or []) + 1
        if not base or base == ZERO:  # a new branch: what it adds to the default branch
            default = (event.get("repository") or {}).get("default_branch")
            base = None
            if default:
                git("fetch", "--no-tags", "--quiet", "origin", default)
                base = git("rev-parse", "-q", "--verify", "FETCH_HEAD^{commit}").stdout.strip() or None
    if base is None:
        log("keyguard: scanning the whole tree")
        return []
    if not ensure_base(base, hint):
        log(f"keyguard: cannot find base {base[:12]} or its merge base with HEAD; scanning the whole tree")
        return []
    log(f"keyguard: scanning what {base[:12]}..HEAD adds")
    return ["--since", base]


def _esc_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _esc_prop(s: str) -> str:
    return _esc_data(s).replace(":", "%3A").replace(",", "%2C")


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def report(sarif_path: str, summary_path: str | None) -> int:
    from urllib.parse import unquote

    with open(sarif_path, encoding="utf-8") as fh:
        run = json.load(fh)["runs"][0]
    results = run.get("results", [])
    rows = []
    for r in results:
        loc = r["locations"][0]["physicalLocation"]
        path = unquote(loc["artifactLocation"]["uri"])
        line = loc["region"]["startLine"]
        props = r.get("properties", {})
        level = {"error": "error", "warning": "warning"}.get(r.get("level", ""), "notice")
        title = f"keyguard: {r['ruleId']}"
        log(f"::{level} file={_esc_prop(path)},line={line},col={loc['region'].get('startColumn', 1)},"
            f"title={_esc_prop(title)}::{_esc_data(r['message']['text'])}")
        commit = (props.get("commit") or {}).get("sha", "")[:12]
        rows.append(f"| {props.get('severity', '')} | `{r['ruleId']}` | `{_md(path)}`:{line} | "
                    f"{commit} | `{_md(props.get('redacted', ''))}` |")
    if summary_path:
        n = len(results)
        text = f"### keyguard: {n} leaked key{'s' if n != 1 else ''} found\n\n"
        if rows:
            text += "| Severity | Rule | Where | Commit | Key (redacted) |\n|---|---|---|---|---|\n"
            text += "\n".join(rows) + "\n\n"
            text += ("Revoke each key with its provider, then remove it. A false positive? Add "
                     "`keyguard:allow` on its line or run `keyguard allow FINGERPRINT --reason ...`.\n")
        else:
            text += "No keys found.\n"
        with open(summary_path, "a", encoding="utf-8") as fh:
            fh.write(text)
    return len(results)


def main() -> int:
    env = os.environ
    event: dict[str, Any] = {}
    if env.get("GITHUB_EVENT_PATH") and os.path.isfile(env["GITHUB_EVENT_PATH"]):
        with open(env["GITHUB_EVENT_PATH"], encoding="utf-8") as fh:
            event = json.load(fh)
    sarif = os.path.abspath(env.get("KEYGUARD_SARIF") or "keyguard.sarif")
    args = ["scan", ".", *scan_args(env.get("GITHUB_EVENT_NAME", ""), event),
            "--format", "sarif", "--output", sarif, "--no-color"]
    if env.get("KEYGUARD_FAIL_ON"):
        args += ["--fail-on", env["KEYGUARD_FAIL_ON"]]
    if env.get("KEYGUARD_VERIFY", "false").lower() == "true":
        args.append("--verify")
    args += shlex.split(env.get("KEYGUARD_ARGS", ""))
    p = subprocess.run([sys.executable, "-m", "keyguard", *args])
    if p.returncode not in (0, 1) or not os.path.isfile(sarif):
        log(f"::error title=keyguard::keyguard scan failed (exit {p.returncode})")
        return 2
    count = report(sarif, env.get("GITHUB_STEP_SUMMARY"))
    if env.get("GITHUB_OUTPUT"):
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
            fh.write(f"findings={count}\nsarif-file={sarif}\n")
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
