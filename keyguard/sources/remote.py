"""A remote git repository (``https://HOST/OWNER/REPO[.git]``) as a bare clone in a temporary
directory that is always removed, for the git source to scan like a local one.

The clone runs with the git source's safety settings plus its own for the transport: only https
(plain http only to a loopback host), no hooks, no template, no credential helper, no prompt,
no redirects, no submodules, no LFS smudge. A bare clone checks nothing out, so no filter or
attribute of the scanned repository ever runs. Full history unless a depth is asked for; a size
limit and a time limit stop a clone that grows too large or too slow.

A token (``GITHUB_TOKEN``/``GITLAB_TOKEN``) goes only to its own host, as an ``Authorization``
header scoped to that host's URL in git's configuration. It is handed to git through its
environment (``GIT_CONFIG_COUNT``/``KEY``/``VALUE``), so it is never in a URL, an argument list
(readable by any user in ``/proc``), the clone's config file, or a report.
"""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Mapping
from urllib.parse import urlsplit

from ..http import is_loopback
from .git import safe_env

DEFAULT_MAX_BYTES = 2 * 1024 * 1024 * 1024  # a clone larger than this is stopped (--max-repo-mb)
DEFAULT_CLONE_SECONDS = 900.0
# public forges and the variable holding a token for each; GitHub Enterprise Server and
# self-managed GitLab hosts are added by the caller (--github-api-url, --gitlab-url)
TOKEN_VARIABLES = {"github.com": "GITHUB_TOKEN", "gitlab.com": "GITLAB_TOKEN"}
# the user name each forge's git server expects beside a token in Basic authentication
_TOKEN_USERS = {"GITHUB_TOKEN": "x-access-token", "GITLAB_TOKEN": "oauth2"}
_POLL_SECONDS = 0.5


class RemoteError(Exception):
    """A remote repository that cannot be cloned: one line, never holding a token."""


@dataclass(frozen=True)
class Remote:
    url: str  # as cloned: no credentials, no query
    scheme: str
    host: str  # host[:port], lower case: the only place its token goes
    name: str  # OWNER/REPO (GitLab: GROUP/SUBGROUP/REPO), without .git

    @property
    def shown(self) -> str:
        """The repository as reports name it."""
        return self.url[:-4] if self.url.endswith(".git") else self.url


def parse_remote(url: str) -> Remote:
    """``https://HOST/OWNER/REPO[.git]`` as a ``Remote``; RemoteError with the reason otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http"):
        url = url.rpartition("@")[2] if "://" not in url else url
        raise RemoteError(f"{url}: only https:// repositories are scanned")
    netloc = parts.netloc
    if "@" in netloc:
        raise RemoteError(
            f"{parts.scheme}://{netloc.rpartition('@')[2]}{parts.path}: the URL holds credentials; "
            "remove them and set GITHUB_TOKEN or GITLAB_TOKEN (sent to that host only, as a header)")
    host = parts.hostname or ""
    if not host:
        raise RemoteError(f"{url}: no host")
    if parts.scheme == "http" and not is_loopback(host):
        raise RemoteError(f"{url}: plain http is accepted only for a loopback host; use https://")
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2 or any(s in (".", "..") for s in segments):
        raise RemoteError(f"{url}: expected https://HOST/OWNER/REPO")
    path = "/".join(segments)
    name = path[:-4] if path.endswith(".git") else path
    return Remote(f"{parts.scheme}://{netloc.lower()}/{path}", parts.scheme, netloc.lower(), name)


def token_for(remote_host: str, token_hosts: Mapping[str, str] | None = None,
              environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(variable name, token) for a host keyguard may send a token to, or None. ``token_hosts``
    (host -> variable) replaces the public forges: with ``--github-api-url`` the GitHub token
    goes to that server only."""
    variable = (token_hosts or TOKEN_VARIABLES).get(remote_host)
    value = (os.environ if environ is None else environ).get(variable or "")
    return (variable, value) if variable and value else None  # type: ignore[return-value]


def clone_env(remote: Remote, token: tuple[str, str] | None = None) -> dict[str, str]:
    """git's environment for fetching ``remote``: the git source's, the transport's limits and,
    with a token, one header for this host only."""
    env = {k: v for k, v in safe_env().items()
           # GIT_TRACE_CURL=1 with GIT_TRACE_REDACT=0 would print the header
           if not k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_", "GIT_TRACE", "GIT_CURL_"))
           and k not in ("GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_ASKPASS", "SSH_ASKPASS",
                         "GIT_SSH", "GIT_SSH_COMMAND", "GIT_PROXY_COMMAND")}
    env.update(GIT_ALLOW_PROTOCOL="https" if remote.scheme == "https" else "http",
               GIT_ASKPASS="", GIT_LFS_SKIP_SMUDGE="1", GIT_TERMINAL_PROMPT="0")
    config = [
        ("core.hooksPath", "/dev/null"), ("core.fsmonitor", ""), ("core.askPass", ""),
        ("credential.helper", ""),  # no stored password goes anywhere on its own
        ("http.followRedirects", "false"),  # a redirect could lead the header to another host
        ("submodule.recurse", "false"), ("fetch.recurseSubmodules", "false"),
        ("protocol.allow", "never"), (f"protocol.{remote.scheme}.allow", "always"),
    ]
    if token is not None:
        variable, value = token
        user = _TOKEN_USERS.get(variable, "x-access-token")
        basic = base64.b64encode(f"{user}:{value}".encode()).decode()
        config.append((f"http.{remote.scheme}://{remote.host}/.extraHeader", f"Authorization: Basic {basic}"))
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for i, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"] = key, value
    return env


def _scrub(text: str, token: tuple[str, str] | None) -> str:
    if token is not None and token[1]:
        text = text.replace(token[1], "***")
    return text


def _first_error(stderr: bytes, token: tuple[str, str] | None) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    return _scrub((fatal or lines or ["failed"])[0], token)


def ls_remote(remote: Remote, token: tuple[str, str] | None = None,
              timeout: float = 120.0) -> dict[str, str]:
    """The branches, tags and HEAD of ``remote``: ref name -> commit."""
    try:
        p = subprocess.run(["git", "ls-remote", "--", remote.url], capture_output=True,
                           env=clone_env(remote, token), stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RemoteError(f"{remote.shown}: git ls-remote timed out after {timeout:.0f}s") from None
    except FileNotFoundError:
        raise RemoteError("git is not installed (or not on PATH)") from None
    if p.returncode != 0:
        raise RemoteError(f"{remote.shown}: {_first_error(p.stderr, token)}")
    refs = {}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        sha, _, ref = line.partition("\t")
        if ref == "HEAD" or (ref.startswith(("refs/heads/", "refs/tags/")) and not ref.endswith("^{}")):
            refs[ref] = sha
    return refs


def refs_key(refs: Mapping[str, str]) -> str:
    """One digest of every ref a history scan reads: equal digests, equal history."""
    text = "\n".join(f"{sha} {ref}" for ref, sha in sorted(refs.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _tree_bytes(path: str) -> int:
    total = 0
    for folder, _, names in os.walk(path):
        for n in names:
            try:
                total += os.lstat(os.path.join(folder, n)).st_size
            except OSError:
                pass
    return total


def _clone(remote: Remote, dest: str, token: tuple[str, str] | None, depth: int | None,
           max_bytes: int, max_seconds: float) -> None:
    args = ["git", "clone", "--bare", "--quiet", "--template=", "--no-recurse-submodules"]
    if depth:
        args += ["--depth", str(depth), "--no-single-branch"]
    args += ["--", remote.url, dest]
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, env=clone_env(remote, token))
        except FileNotFoundError:
            raise RemoteError("git is not installed (or not on PATH)") from None
        started, reason, pause = time.monotonic(), None, 0.01
        try:
            while proc.poll() is None:
                time.sleep(pause)  # short at first: most clones of a large org are small
                pause = min(pause * 2, _POLL_SECONDS)
                if _tree_bytes(dest) > max_bytes:
                    reason = f"larger than the size limit ({max_bytes >> 20} MiB, --max-repo-mb)"
                elif time.monotonic() - started > max_seconds:
                    reason = f"clone took longer than {max_seconds:.0f}s"
                if reason:
                    proc.kill()
                    break
        finally:
            if proc.poll() is None:  # interrupted: git goes with us
                proc.kill()
            proc.wait()
        if reason:
            raise RemoteError(f"{remote.shown}: not scanned: {reason}")
        if proc.returncode != 0:
            err.seek(0)
            raise RemoteError(f"{remote.shown}: clone failed: {_first_error(err.read(), token)}")


@contextmanager
def cloned(remote: Remote, token: tuple[str, str] | None = None, depth: int | None = None,
           max_bytes: int = DEFAULT_MAX_BYTES, max_seconds: float = DEFAULT_CLONE_SECONDS,
           tmp_root: str | None = None) -> Iterator[str]:
    """The path of a bare clone of ``remote``, removed when the block ends however it ends."""
    if tmp_root is not None and not os.path.isdir(tmp_root):
        tmp_root = None  # a worker on another machine: its own temporary directory
    tmp = tempfile.mkdtemp(prefix="keyguard-clone-", dir=tmp_root)
    try:
        dest = os.path.join(tmp, "repo.git")
        _clone(remote, dest, token, depth, max_bytes, max_seconds)
        yield dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
