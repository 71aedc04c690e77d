"""What the GitHub Action installs and runs is pinned: hash-checked requirements, actions by commit SHA."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "action.txt"
REGENERATE = ("regenerate: pip-compile --generate-hashes --allow-unsafe --all-build-deps --strip-extras "
              "--no-emit-index-url -o requirements/action.txt pyproject.toml (see docs/release.md)")


def locked() -> dict[str, tuple[Version, Marker | None, list[str], set[str]]]:
    """name -> (pinned version, marker, hashes, what needs it) from pip-compile --generate-hashes."""
    out: dict[str, tuple[Version, Marker | None, list[str], set[str]]] = {}
    for entry in re.split(r"\n(?=\S)", LOCK.read_text(encoding="utf-8")):
        comments = [ln.strip().lstrip("#").strip() for ln in entry.splitlines() if ln.strip().startswith("#")]
        lines = [ln.strip().rstrip("\\").strip() for ln in entry.splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("#")]
        if not lines:
            continue
        via = {canonicalize_name(c.removeprefix("via").split()[0]) for c in comments if c.removeprefix("via").strip()}
        req = Requirement(lines[0])
        (spec,) = req.specifier
        assert spec.operator == "==", f"{req.name} is not pinned to one version"
        hashes = [ln.removeprefix("--hash=sha256:") for ln in lines[1:]]
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), f"{req.name}: {lines[1:]}"
        out[canonicalize_name(req.name)] = (Version(spec.version), req.marker, hashes, via)
    return out


def test_the_action_lock_pins_every_dependency_and_the_build_backend_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [Requirement(r) for r in project["project"]["dependencies"]]
    wanted += [Requirement(r) for r in project["build-system"]["requires"]]
    lock = locked()
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} is not in requirements/action.txt; {REGENERATE}"
        version, marker, hashes, _ = lock[name]
        assert req.specifier.contains(version, prereleases=True), \
            f"{req.name}=={version} does not satisfy pyproject.toml's {req.specifier}; {REGENERATE}"
        assert str(marker) == str(req.marker), f"{req.name}: marker differs from pyproject.toml; {REGENERATE}"
        assert hashes, f"{req.name} has no hash"
    # nothing in the lock that no dependency needs (say, one dropped from pyproject.toml)
    direct = {canonicalize_name(r.name) for r in wanted}
    for name, (*_, via) in lock.items():
        assert name in direct or via & set(lock), f"{name} is in the lock but nothing needs it; {REGENERATE}"


def test_the_action_installs_only_what_the_lock_pins() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    (install,) = [s for s in action["runs"]["steps"] if s["name"] == "Install keyguard"]
    script = install["run"]
    commands = [ln for ln in script.splitlines() if '"${pip[@]}"' in ln]
    assert "--no-deps" in script and len(commands) == 2
    assert "--require-hashes -r \"$GITHUB_ACTION_PATH/requirements/action.txt\"" in commands[0]
    # keyguard itself: built from the checkout, with the locked setuptools, no index at all
    assert "--no-build-isolation --no-index \"$GITHUB_ACTION_PATH\"" in commands[1]


USES = re.compile(r"^\s*(?:-\s+)?uses:\s*([^\s#]+)", re.M)


def test_third_party_actions_are_pinned_by_commit_sha() -> None:
    places = [ROOT / "action.yml", ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    seen = 0
    for place in places:
        for ref in USES.findall(place.read_text(encoding="utf-8")):
            if ref.startswith("./") or ref == "OWNER/REPO@COMMIT":
                continue  # keyguard's own action: the docs say to pin the commit you reviewed
            seen += 1
            owner_repo, _, version = ref.partition("@")
            assert re.fullmatch(r"[0-9a-f]{40}", version), f"{place.name}: {ref} is not pinned by commit SHA"
    assert seen >= 1


def test_docs_name_no_release_or_package_that_does_not_exist() -> None:
    """keyguard is installed from a clone: no PyPI name, no pipx, no tag the repository lacks."""
    import subprocess

    tags = subprocess.run(["git", "-C", str(ROOT), "tag"], capture_output=True, text=True).stdout.split()
    for place in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / ".pre-commit-hooks.yaml"]:
        text = place.read_text(encoding="utf-8")
        assert "pipx install" not in text, place.name
        assert not re.search(r"pip install[^\n`]*?(?<![\w./-])keyguard(?:\[\w+\])?(?![\w/.-])", text), place.name
        for tag in re.findall(r"(?:rev:\s*|@)(v\d+\.\d+\.\d+)\b", text):
            assert tag in tags, f"{place.name} names {tag}, which is not a tag of this repository"
