"""``keyguard scan URL --history``: real bare repositories served over git's dumb http protocol on
127.0.0.1, cloned by the real keyguard command."""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ..forge_standin import Forge, answer, bare_repo, git
from ..helpers import key

TOKEN = "ghp_" + "T0kenForTheStandIn" * 2  # not a real token's format: the report must not hold it


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "keyguard", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


@pytest.fixture
def tmpdir_env(tmp_path: Path) -> dict[str, str]:
    t = tmp_path / "tmp"
    t.mkdir()
    return {"TMPDIR": str(t)}


def leftovers(env: dict[str, str]) -> list[str]:
    return [n for n in os.listdir(env["TMPDIR"]) if n.startswith("keyguard-clone-")]


def test_url_history_names_repository_path_and_commit(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    gone, kept = key("openai-project-key", 21), key("google-api-key", 22)
    bare_repo(tmp_path / "git", "acme/api", [
        {"app/settings.py": f'OPENAI_API_KEY = "{gone}"\n'},
        {"app/settings.py": "x = 1\n", "web/maps.js": f'const GOOGLE_KEY = "{kept}";\n'},
    ])
    first = git(tmp_path / "git" / "acme/api.git", "rev-list", "--max-parents=0", "HEAD")
    with Forge(tmp_path / "git") as forge:
        p = run("scan", forge.clone_url("acme/api"), "--history", "--format", "json",
                cwd=tmp_path, env=tmpdir_env)
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    found = {f["path"]: f for f in doc["findings"]}
    assert set(found) == {"app/settings.py", "web/maps.js"}
    assert found["app/settings.py"]["commit"]["sha"] == first
    assert {f["origin"]["repository"] for f in doc["findings"]} == {f"{forge.url}/git/acme/api"}
    assert leftovers(tmpdir_env) == []


def test_since_on_a_remote_repository(tmp_path: Path) -> None:
    old, new = key("openai-project-key", 23), key("anthropic-api-key", 24)
    bare_repo(tmp_path / "git", "acme/api", [{"a.env": f"OPENAI_API_KEY={old}\n"},
                                             {"b.env": f"ANTHROPIC_API_KEY={new}\n"}])
    with Forge(tmp_path / "git") as forge:
        p = run("scan", forge.clone_url("acme/api"), "--since", "HEAD~1", "--format", "json", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert [f["path"] for f in json.loads(p.stdout)["findings"]] == ["b.env"]


@pytest.mark.parametrize("url, says", [
    ("http://example.com/acme/api.git", "plain http is accepted only for a loopback host"),
    ("https://user:secretpass@127.0.0.1:9/acme/api.git", "the URL holds credentials"),
    ("ssh://git@127.0.0.1/acme/api.git", "only https://"),
    ("https://127.0.0.1:9/justone", "expected https://HOST/OWNER/REPO"),
])
def test_refused_urls_are_one_line_exit_2(tmp_path: Path, url: str, says: str) -> None:
    p = run("scan", url, "--history", cwd=tmp_path)
    assert p.returncode == 2
    assert says in p.stderr and "Traceback" not in p.stderr
    assert "secretpass" not in p.stderr


def test_missing_repository_is_a_clear_error(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    (tmp_path / "git").mkdir()
    with Forge(tmp_path / "git") as forge:
        p = run("scan", forge.clone_url("acme/nothing"), "--history", cwd=tmp_path, env=tmpdir_env)
    assert p.returncode == 2
    assert "acme/nothing" in p.stderr and "not found" in p.stderr.lower()
    assert leftovers(tmpdir_env) == []


def test_size_limit_stops_the_clone(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    big = base64.b64encode(os.urandom(3 * 1024 * 1024)).decode()  # incompressible
    bare_repo(tmp_path / "git", "acme/big", [{"blob.txt": big}])
    with Forge(tmp_path / "git") as forge:
        p = run("scan", forge.clone_url("acme/big"), "--history", "--max-repo-mb", "1",
                cwd=tmp_path, env=tmpdir_env)
    assert p.returncode == 2
    assert "size limit (1 MiB" in p.stderr
    assert leftovers(tmpdir_env) == []


def slow_files(forge: Forge, seconds: float) -> None:
    """Every git file answered after ``seconds``: a clone that lasts."""
    original = forge._file

    def slow(rel: str):  # type: ignore[no-untyped-def]
        time.sleep(seconds)
        return original(rel)
    forge._file = slow  # type: ignore[method-assign]


def test_token_goes_to_its_host_only_as_a_header(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    k = key("openai-project-key", 25)
    bare_repo(tmp_path / "git", "acme/api", [{f"f{i}.txt": f"line {i}\n" for i in range(12)},
                                             {"a.env": f"OPENAI_API_KEY={k}\n"}])
    with Forge(tmp_path / "git") as forge:
        slow_files(forge, 0.05)
        seen_argv: list[str] = []
        seen_files: list[str] = []
        stop = threading.Event()

        def watch() -> None:  # every process's argv, and every file of the clone, while it runs
            while not stop.is_set():
                for pid in os.listdir("/proc"):
                    if pid.isdigit():
                        try:
                            seen_argv.append(Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace"))
                        except OSError:
                            pass
                for folder, _, names in os.walk(tmpdir_env["TMPDIR"]):
                    for n in names:
                        try:
                            seen_files.append(Path(folder, n).read_bytes().decode("latin-1"))
                        except OSError:
                            pass
                time.sleep(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            env = {**tmpdir_env, "GITHUB_TOKEN": TOKEN}
            api = f"{forge.url}/api/v3"
            p = run("scan", forge.clone_url("acme/api"), "--history", "--format", "json",
                    "--github-api-url", api, cwd=tmp_path, env=env)
            # the same repository by another name of the host: not the host the token is for
            q = run("scan", forge.clone_url("acme/api").replace("127.0.0.1", "localhost"), "--history",
                    "--format", "json", "--github-api-url", api, cwd=tmp_path, env=env)
        finally:
            stop.set()
            watcher.join()
    assert p.returncode == 1 and q.returncode == 1, p.stderr + q.stderr
    basic = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    to_127 = [s for s in forge.seen if s.headers.get("host", "").startswith("127.0.0.1")]
    to_localhost = [s for s in forge.seen if s.headers.get("host", "").startswith("localhost")]
    assert to_127 and all(s.headers.get("authorization") == basic for s in to_127)
    assert to_localhost and not any("authorization" in s.headers for s in to_localhost)
    assert any("git clone" in a.replace("\0", " ") for a in seen_argv)  # the watcher saw the clone
    assert not any(TOKEN in a or basic.split()[1] in a for a in seen_argv)
    assert seen_files and not any(TOKEN in t or basic.split()[1] in t for t in seen_files)
    assert TOKEN not in p.stdout + p.stderr + q.stdout + q.stderr
    assert leftovers(tmpdir_env) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_clone_leaves_nothing_behind(tmp_path: Path, tmpdir_env: dict[str, str], sig: int) -> None:
    bare_repo(tmp_path / "git", "acme/api", [{f"f{i}.txt": f"line {i}\n" for i in range(40)}])
    with Forge(tmp_path / "git") as forge:
        slow_files(forge, 0.1)
        proc = subprocess.Popen([sys.executable, "-m", "keyguard", "scan", forge.clone_url("acme/api"),
                                 "--history"], cwd=tmp_path, env={**os.environ, **tmpdir_env},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while not leftovers(tmpdir_env) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert leftovers(tmpdir_env), "the clone never started"
        time.sleep(0.3)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert leftovers(tmpdir_env) == []


def test_plain_web_scan_of_a_url_is_unchanged(tmp_path: Path) -> None:
    """Without --history a URL is still a site to crawl, not a repository to clone."""
    k = key("google-api-key", 26)
    (tmp_path / "git").mkdir()
    with Forge(tmp_path / "git") as forge:
        forge.api["/index.html"] = lambda q: answer(200, f'<script>var K="{k}"</script>'.encode(),
                                                    {"Content-Type": "text/html"})
        p = run("scan", f"{forge.url}/index.html", "--format", "json", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert json.loads(p.stdout)["findings"][0]["path"].startswith(forge.url)


def test_a_redirect_is_not_followed_with_the_token(tmp_path: Path) -> None:
    """The forge answers the clone with a redirect to another host: git does not follow it, so
    the header scoped to the first host goes nowhere else."""
    bare_repo(tmp_path / "git", "acme/api", [{"a.txt": "hello\n"}])
    with Forge(tmp_path / "git") as forge:
        other = forge.clone_url("acme/api").replace("127.0.0.1", "localhost")
        forge.api["/moved/acme/api.git/info/refs"] = lambda q: answer(
            302, b"", {"Location": other + "/info/refs?service=git-upload-pack"})
        p = run("scan", f"{forge.url}/moved/acme/api.git", "--history", "--github-api-url",
                f"{forge.url}/api/v3", cwd=tmp_path, env={"GITHUB_TOKEN": TOKEN})
    assert p.returncode == 2, p.stdout
    assert "acme/api" in p.stderr and TOKEN not in p.stderr
    assert not [s for s in forge.seen if s.headers.get("host", "").startswith("localhost")]


def test_verify_a_remote_repositorys_keys(tmp_path: Path) -> None:
    from ..standin import StandIn, reply

    k = key("openai-project-key", 27)
    bare_repo(tmp_path / "git", "acme/api", [{"a.env": f"OPENAI_API_KEY={k}\n"}])
    invalid = reply(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                    "code": "invalid_api_key"}})
    with Forge(tmp_path / "git") as forge, StandIn({("GET", "*"): invalid}) as openai:
        p = run("scan", forge.clone_url("acme/api"), "--history", "--verify", "--format", "json",
                cwd=tmp_path, env={"KEYGUARD_ENDPOINTS": f"api.openai.com={openai.url}"})
    assert p.returncode in (0, 1), p.stderr
    [f] = json.loads(p.stdout)["findings"]
    assert f["verification"]["status"] == "invalid" and f["severity"] == "low"
    assert [(r.path, r.headers.get("authorization")) for r in openai.requests] == [("/v1/models", f"Bearer {k}")]
    assert k not in p.stdout


def test_which_host_gets_which_token() -> None:
    from keyguard.sources.remote import clone_env, parse_remote, token_for

    env = {"GITHUB_TOKEN": TOKEN, "GITLAB_TOKEN": "glpat-standin"}
    assert token_for("github.com", None, env) == ("GITHUB_TOKEN", TOKEN)
    assert token_for("gitlab.com", None, env) == ("GITLAB_TOKEN", "glpat-standin")
    assert token_for("github.com.evil.example", None, env) is None
    # with --github-api-url, the GitHub token goes to that server and not to github.com
    ghes = {"ghe.example.com": "GITHUB_TOKEN", "gitlab.com": "GITLAB_TOKEN"}
    assert token_for("github.com", ghes, env) is None
    assert token_for("ghe.example.com", ghes, env) == ("GITHUB_TOKEN", TOKEN)
    remote = parse_remote("https://GHE.example.com/Acme/API.git")
    assert (remote.host, remote.name, remote.shown) == ("ghe.example.com", "Acme/API",
                                                        "https://ghe.example.com/Acme/API")
    e = clone_env(remote, ("GITHUB_TOKEN", TOKEN))
    config = {e[f"GIT_CONFIG_KEY_{i}"]: e[f"GIT_CONFIG_VALUE_{i}"] for i in range(int(e["GIT_CONFIG_COUNT"]))}
    assert config["http.https://ghe.example.com/.extraHeader"] == "Authorization: Basic " + \
        base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert config["credential.helper"] == "" and config["core.hooksPath"] == "/dev/null"
    assert e["GIT_ALLOW_PROTOCOL"] == "https" and e["GIT_TERMINAL_PROMPT"] == "0"
    assert not any(TOKEN in k for k in config)
