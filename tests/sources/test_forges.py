"""``keyguard scan github:ORG`` / ``gitlab:GROUP`` against a stand-in REST API on 127.0.0.1 whose
clone URLs point to bare repositories served over dumb http by the same server; the state
directory, a resumed scan after a kill, and a real Dask LocalCluster."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from keyguard.sources import forges

from ..forge_standin import Forge, answer, bare_repo, git, paginated
from ..helpers import key

GH_TOKEN = "stand-in-github-token-" + "x" * 12
GL_TOKEN = "stand-in-gitlab-token-" + "y" * 12


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keyguard", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def gh_repo(forge: Forge, name: str, **kw: Any) -> dict[str, Any]:
    return {"id": abs(hash(name)) % 10**6, "full_name": name, "name": name.split("/")[1],
            "clone_url": forge.clone_url(name), "html_url": f"{forge.url}/{name}",
            "fork": kw.get("fork", False), "archived": kw.get("archived", False), "private": False}


ORG = {  # repository -> its history
    "acme/api": [{"settings.py": f'OPENAI_API_KEY = "{key("openai-project-key", 31)}"\n'}, {"settings.py": "x = 1\n"}],
    "acme/web": [{"maps.js": f'const GOOGLE_KEY = "{key("google-api-key", 32)}";\n'}],
    "acme/clean": [{"README.md": "nothing here\n"}],
    "acme/tools": [{"ci.env": f"ANTHROPIC_API_KEY={key('anthropic-api-key', 33)}\n"}],
    "acme/old-fork": [{"f.env": f"GROQ_API_KEY={key('groq-api-key', 34)}\n"}],
    "acme/attic": [{"a.env": f"OPENAI_API_KEY={key('openai-project-key', 35)}\n"}],
}


@pytest.fixture
def org(tmp_path: Path):
    root = tmp_path / "git"
    for name, history in ORG.items():
        bare_repo(root, name, history)
    with Forge(root) as forge:
        repos = [gh_repo(forge, n, fork=n == "acme/old-fork", archived=n == "acme/attic") for n in ORG]
        repos.append(gh_repo(forge, "acme/vanished"))  # listed, but its clone 404s
        path = "/api/v3/orgs/acme/repos"
        forge.api[path] = paginated(repos, forge.url + path, per_page=2, extra={
            2: [answer(429, {"message": "slow down"}, {"Retry-After": "1"})],  # rate limited once
            3: [answer(502, b"bad gateway")],  # a 5xx, then the real page
        })
        yield forge


def gh(forge: Forge, *args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run("scan", "github:acme", "--github-api-url", f"{forge.url}/api/v3", *args, cwd=cwd,
               env={"GITHUB_TOKEN": GH_TOKEN, **(env or {})})


def repos_of(doc: dict[str, Any]) -> set[str]:
    return {f["origin"]["repository"].rsplit("/git/", 1)[1] for f in doc["findings"]}


def stable(doc: dict[str, Any]) -> list[tuple]:
    return [(f["origin"]["repository"], f["path"], f["line"], f["column"], f["fingerprint"],
             f["commit"]["sha"]) for f in doc["findings"]]


def test_org_scan_pages_rate_limits_retries_and_skips(org: Forge, tmp_path: Path) -> None:
    p = gh(org, "--format", "json", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert repos_of(doc) == {"acme/api", "acme/web", "acme/tools"}  # no fork, no archived
    assert [e for e in doc["errors"] if "acme/vanished" in e and "not found" in e.lower()]
    assert doc["stats"]["repositories"] == {"scanned": 4, "unchanged": 0, "failed": 1}
    pages = [s for s in org.seen if s.path == "/api/v3/orgs/acme/repos"]
    assert [s.query.get("page", "1") for s in pages] == ["1", "2", "2", "3", "3", "4"]
    assert all(s.headers.get("authorization") == f"Bearer {GH_TOKEN}" for s in pages)
    assert GH_TOKEN not in p.stdout + p.stderr


def test_org_flags_include_and_exclude(org: Forge, tmp_path: Path) -> None:
    p = gh(org, "--format", "json", "--include-forks", "--include-archived", "--repo-exclude", "web",
           "--repo-exclude", "acme/vanished", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert repos_of(doc) == {"acme/api", "acme/tools", "acme/old-fork", "acme/attic"}
    assert doc["errors"] == []
    p = gh(org, "--format", "json", "--repo-include", "t*", cwd=tmp_path)
    assert repos_of(json.loads(p.stdout)) == {"acme/tools"}


def test_list_as_an_actions_matrix(org: Forge, tmp_path: Path) -> None:
    p = gh(org, "--list", "--format", "matrix", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.strip().splitlines()) == 1  # one line: echo "matrix=$(...)" >> $GITHUB_OUTPUT
    matrix = json.loads(p.stdout)
    assert [m["repo"] for m in matrix["include"]] == ["acme/api", "acme/clean", "acme/tools",
                                                      "acme/vanished", "acme/web"]
    assert matrix["include"][0]["url"] == org.clone_url("acme/api")
    assert not [s for s in org.seen if s.path.startswith("/git/")]  # nothing cloned


def test_text_report_groups_by_repository(org: Forge, tmp_path: Path) -> None:
    p = gh(org, cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert f"{org.url}/git/acme/api\n  HIGH" in p.stdout
    assert "3 findings in 5 repositories (4 scanned, 0 unchanged, 1 failed)" in p.stdout
    assert "error: acme/vanished" in p.stdout


def test_gitlab_group_with_subgroups(tmp_path: Path) -> None:
    root = tmp_path / "git"
    bare_repo(root, "grp/app", [{"a.env": f"OPENAI_API_KEY={key('openai-project-key', 36)}\n"}])
    bare_repo(root, "grp/sub/lib", [{"b.env": f"ANTHROPIC_API_KEY={key('anthropic-api-key', 37)}\n"}])
    with Forge(root) as forge:
        projects = [{"id": i, "path_with_namespace": n, "http_url_to_repo": forge.clone_url(n),
                     "web_url": f"{forge.url}/{n}", "archived": False}
                    for i, n in enumerate(["grp/app", "grp/sub/lib"])]
        projects.append({"id": 9, "path_with_namespace": "grp/forked", "archived": False,
                         "http_url_to_repo": forge.clone_url("grp/forked"),
                         "forked_from_project": {"id": 1}})
        path = "/api/v4/groups/grp/projects"
        forge.api[path] = paginated(projects, forge.url + path, per_page=1)
        p = run("scan", "gitlab:grp", "--gitlab-url", forge.url, "--format", "json", cwd=tmp_path,
                env={"GITLAB_TOKEN": GL_TOKEN})
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert repos_of(doc) == {"grp/app", "grp/sub/lib"}
    api = [s for s in forge.seen if s.path.startswith("/api/v4/")]
    assert api and all(s.headers.get("private-token") == GL_TOKEN for s in api)
    assert all(s.query.get("include_subgroups") == "true" for s in api if "page" not in s.query)
    clones = [s for s in forge.seen if s.path.startswith("/git/")]
    assert clones and all(s.headers.get("authorization", "").startswith("Basic ") for s in clones)


def test_state_directory_resumes_and_rescans_what_moved(org: Forge, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = gh(org, "--format", "json", "--state", str(state), cwd=tmp_path)
    doc1 = json.loads(first.stdout)
    assert sorted(os.listdir(state / "repos")) == sorted(
        f"acme%2F{n}.json" for n in ("api", "web", "clean", "tools"))  # the failed one is retried
    second = gh(org, "--format", "json", "--state", str(state), cwd=tmp_path)
    doc2 = json.loads(second.stdout)
    assert doc2["stats"]["repositories"] == {"scanned": 0, "unchanged": 4, "failed": 1}
    assert stable(doc2) == stable(doc1)
    # a new commit on one repository: only that one is cloned again
    work = tmp_path / "git" / "_work" / "acme/clean"
    (work / "new.env").write_text(f"XAI_API_KEY={key('xai-api-key', 38)}\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "leak")
    git(work, "push", "-q", str(tmp_path / "git" / "acme/clean.git"), "main")
    git(tmp_path / "git" / "acme/clean.git", "update-server-info")
    third = json.loads(gh(org, "--format", "json", "--state", str(state), cwd=tmp_path).stdout)
    assert third["stats"]["repositories"] == {"scanned": 1, "unchanged": 3, "failed": 1}
    assert repos_of(third) == {"acme/api", "acme/web", "acme/tools", "acme/clean"}
    assert not (state / ".clones").exists()
    # other settings (a config file appears in the current directory): every report is redone
    (tmp_path / ".keyguard.yaml").write_text("rules:\n  disable: [xai]\n")
    fourth = json.loads(gh(org, "--format", "json", "--state", str(state), cwd=tmp_path).stdout)
    assert fourth["stats"]["repositories"] == {"scanned": 4, "unchanged": 0, "failed": 1}
    assert repos_of(fourth) == {"acme/api", "acme/web", "acme/tools"}


def test_resumed_after_a_kill_mid_org(org: Forge, tmp_path: Path) -> None:
    full = json.loads(gh(org, "--format", "json", cwd=tmp_path).stdout)
    original = org._file

    def slow_web(rel: str):  # type: ignore[no-untyped-def]
        if rel.startswith("acme/web.git"):  # the last repository in order: the run is killed there
            time.sleep(0.5)
        return original(rel)
    org._file = slow_web  # type: ignore[method-assign]
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "keyguard", "scan", "github:acme", "--github-api-url", f"{org.url}/api/v3",
         "--format", "json", "--state", str(state)], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env={**os.environ, "GITHUB_TOKEN": GH_TOKEN})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (state / "repos").is_dir() and len(os.listdir(state / "repos")) >= 3 \
                and os.listdir(state / ".clones"):  # the last repository is being cloned
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    saved = [n for n in os.listdir(state / "repos") if n.endswith(".json")]
    assert 3 <= len(saved) < 4, saved
    for n in os.listdir(state / "repos"):  # whole reports only: no temporary file left as a report
        assert n.endswith(".json") or n.startswith(".keyguard-")
        if n.endswith(".json"):
            json.loads((state / "repos" / n).read_text())
    assert os.listdir(state / ".clones")  # the killed run's clone, still there
    org._file = original  # type: ignore[method-assign]
    resumed = json.loads(gh(org, "--format", "json", "--state", str(state), cwd=tmp_path).stdout)
    assert resumed["stats"]["repositories"] == {"scanned": 1, "unchanged": 3, "failed": 1}
    assert stable(resumed) == stable(full)
    assert not (state / ".clones").exists()  # the killed run's clone was removed


def test_dask_local_cluster_gives_the_same_findings(org: Forge, tmp_path: Path) -> None:
    """A real LocalCluster: 2 worker processes (processes=True)."""
    plain = json.loads(gh(org, "--format", "json", cwd=tmp_path).stdout)
    p = gh(org, "--format", "json", "--dask", "local:2", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    on_dask = json.loads(p.stdout)
    assert stable(on_dask) == stable(plain) and stable(plain)
    assert on_dask["errors"] == plain["errors"]
    assert on_dask["stats"]["repositories"] == plain["stats"]["repositories"]


def test_dask_missing_says_how_to_install(org: Forge, tmp_path: Path) -> None:
    fake = tmp_path / "nodask" / "dask"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no dask here')\n")
    p = gh(org, "--dask", "local:2", cwd=tmp_path,
           env={"PYTHONPATH": os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])})
    assert p.returncode == 2
    assert "pip install '.[dask]'" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("spec", ["local:0", "udp://x:1", "local:two"])
def test_dask_spec_is_checked(org: Forge, tmp_path: Path, spec: str) -> None:
    p = gh(org, "--dask", spec, cwd=tmp_path)
    assert p.returncode == 2 and "--dask" in p.stderr and "Traceback" not in p.stderr


# -- the API client on its own, with a clock that does not really wait ------------------------------
class Clock:
    def __init__(self) -> None:
        self.now, self.slept = 1_700_000_000.0, []

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def test_exhausted_rate_limit_waits_for_a_near_reset_and_refuses_a_far_one(tmp_path: Path) -> None:
    clock = Clock()
    with Forge(tmp_path) as forge:
        forge.api["/api/v3/near"] = paginated([{"a": 1}], "", 10, extra={1: [answer(
            403, {"message": "API rate limit exceeded"},
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 30)})]})
        forge.api["/api/v3/far"] = lambda q: answer(
            403, {"message": "API rate limit exceeded"},
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 3600)})
        api = forges.github_api(f"{forge.url}/api/v3", "t", sleep=clock.sleep, clock=lambda: clock.now)
        assert list(api.pages("/near", {})) == [{"a": 1}]
        assert clock.slept == [31.0]
        with pytest.raises(forges.ForgeError, match="rate limited .* until .* run again then"):
            api.json("/far")


def test_5xx_is_retried_a_bounded_number_of_times(tmp_path: Path) -> None:
    clock = Clock()
    with Forge(tmp_path) as forge:
        forge.api["/api/v3/down"] = lambda q: answer(503, b"unavailable")
        api = forges.github_api(f"{forge.url}/api/v3", None, sleep=clock.sleep, clock=lambda: clock.now)
        with pytest.raises(forges.ForgeError, match="HTTP 503 after 5 attempts"):
            api.json("/down")
    assert len([s for s in forge.seen if s.path == "/api/v3/down"]) == 5


def test_next_page_on_another_host_is_refused(tmp_path: Path) -> None:
    with Forge(tmp_path) as forge:
        forge.api["/api/v3/list"] = lambda q: answer(200, [{"a": 1}], {
            "Link": '<http://127.0.0.2:1/api/v3/list?page=2>; rel="next"'})
        api = forges.github_api(f"{forge.url}/api/v3", "t")
        with pytest.raises(forges.ForgeError, match="another host"):
            list(api.pages("/list", {}))


def test_api_url_must_be_https_unless_loopback() -> None:
    with pytest.raises(forges.ForgeError, match="loopback"):
        forges.github_api("http://ghe.example.com/api/v3")
    assert forges.web_host("https://api.github.com") == "github.com"
    assert forges.web_host("https://ghe.example.com/api/v3") == "ghe.example.com"


def test_progress_line_on_a_terminal(org: Forge, tmp_path: Path) -> None:
    import pty

    master, slave = pty.openpty()
    p = subprocess.run(
        [sys.executable, "-m", "keyguard", "scan", "github:acme", "--github-api-url", f"{org.url}/api/v3",
         "--format", "json"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=slave, timeout=120,
        env={**os.environ, "GITHUB_TOKEN": GH_TOKEN})
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert p.returncode == 1
    assert b"\rkeyguard: 5/5 repositories (0 unchanged, 1 failed), 3 new findings" in shown
    assert shown.endswith(b"\r\x1b[K")  # the line is cleared at the end
    assert json.loads(p.stdout)["findings"]


def test_one_github_repository_by_name(org: Forge, tmp_path: Path) -> None:
    org.api["/api/v3/repos/acme/tools"] = lambda q: answer(200, gh_repo(org, "acme/tools"))
    p = run("scan", "github:acme/tools", "--github-api-url", f"{org.url}/api/v3", "--format", "sarif",
            cwd=tmp_path, env={"GITHUB_TOKEN": GH_TOKEN})
    assert p.returncode == 1, p.stderr
    results = json.loads(p.stdout)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["anthropic-api-key"]
    q = run("scan", "github:acme/tools", "--github-api-url", f"{org.url}/api/v3", "--state", "s",
            cwd=tmp_path)
    assert q.returncode == 2 and "go with github:ORG" in q.stderr


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dask_scheduler_over_tcp(org: Forge, tmp_path: Path) -> None:
    """A scheduler and one worker started as `dask scheduler` / `dask worker` would be on other
    machines, on 127.0.0.1; the worker has the token in its own environment."""
    dask = str(Path(sys.executable).parent / "dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "GITHUB_TOKEN": GH_TOKEN}
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    worker = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                               "--local-directory", str(tmp_path / "w")], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        plain = json.loads(gh(org, "--format", "json", cwd=tmp_path).stdout)
        org.seen.clear()
        # no token where the command runs: the worker's own is the one sent
        p = gh(org, "--format", "json", "--dask", address, cwd=tmp_path, env={"GITHUB_TOKEN": ""})
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    assert p.returncode == 1, p.stderr
    assert stable(json.loads(p.stdout)) == stable(plain)
    listing = [s for s in org.seen if s.path.startswith("/api/")]
    assert listing and not any("authorization" in s.headers for s in listing)
    clones = [s for s in org.seen if s.path.startswith("/git/acme/api.git")]
    assert clones and all(s.headers.get("authorization", "").startswith("Basic ") for s in clones)


def test_gitlab_rate_limit_headers_are_read_too(tmp_path: Path) -> None:
    """GitLab's own header names: a 429 with RateLimit-Remaining 0 and RateLimit-Reset (no
    Retry-After) is waited out until the reset."""
    clock = Clock()
    with Forge(tmp_path) as forge:
        reset = str(int(clock.now) + 20)
        forge.api["/api/v4/groups/g/projects"] = paginated(
            [{"path_with_namespace": "g/a", "http_url_to_repo": "https://gl.example/g/a.git"},
             {"path_with_namespace": "g/b", "http_url_to_repo": "https://gl.example/g/b.git"}],
            f"{forge.url}/api/v4/groups/g/projects", 1,
            extra={1: [answer(429, {"message": "Retry later"},
                              {"RateLimit-Remaining": "0", "RateLimit-Reset": reset})]})
        api = forges.gitlab_api(forge.url, "glpat-x", sleep=clock.sleep, clock=lambda: clock.now)
        repos = forges.gitlab_repos(api, "g")
    assert [r.name for r in repos] == ["g/a", "g/b"]
    assert clock.slept == [21.0]


def test_a_spent_quota_delays_the_next_request_until_the_reset(tmp_path: Path) -> None:
    clock = Clock()
    with Forge(tmp_path) as forge:
        base = f"{forge.url}/api/v3/orgs/o/repos"

        def page(q: dict[str, str]):  # type: ignore[no-untyped-def]
            if q.get("page") == "2":
                return answer(200, [{"full_name": "o/b", "clone_url": "https://github.com/o/b.git"}])
            return answer(200, [{"full_name": "o/a", "clone_url": "https://github.com/o/a.git"}], {
                "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 10),
                "Link": f'<{base}?page=2>; rel="next"'})
        forge.api["/api/v3/orgs/o/repos"] = page
        api = forges.github_api(f"{forge.url}/api/v3", "t", sleep=clock.sleep, clock=lambda: clock.now)
        assert [r.name for r in forges.github_repos(api, "o")] == ["o/a", "o/b"]
    assert clock.slept == [11.0]
