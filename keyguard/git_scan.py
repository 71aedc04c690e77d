"""``keyguard scan --history / --since REF / --staged``: a git source wired into the scanner."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Stats
from .sources import git

if TYPE_CHECKING:
    from .scanner import Pack, ScanResult
    from .model import Rule
    from .suppress import Suppressor


def scan_git(
    repo_path: str, mode: str, ref: str | None, rules: list[Rule], packs: list[Pack],
    suppressor: Suppressor | None, shard: tuple[int, int] | None = None, jobs: int = 1,
) -> ScanResult:
    """``mode`` is ``history``, ``since`` (with ``ref``) or ``staged``. Raises ``git.GitError``.

    ``shard`` (I, N) splits a history scan by path: shard I scans the blobs of its paths;
    ``jobs`` worker processes read and scan them."""
    result = _scan(repo_path, mode, ref, rules, packs, suppressor, shard, jobs)
    result.errors.extend(result.stats.extra.pop("git_warnings", []))
    return result


def _scan(
    repo_path: str, mode: str, ref: str | None, rules: list[Rule], packs: list[Pack],
    suppressor: Suppressor | None, shard: tuple[int, int] | None = None, jobs: int = 1,
) -> ScanResult:
    from .scanner import run

    stats = Stats()
    repo = git.open_repo(repo_path)
    if repo.shallow:
        stats.extra.setdefault("git_warnings", []).append(
            "shallow clone: history before the cut is not scanned (`git fetch --unshallow`)")
    if mode == "history":
        if not repo.has_commits() and not repo.run("for-each-ref", "--count=1").stdout:
            return run([], rules, stats, repo.toplevel, packs, suppressor)
        keep = None
        if shard is not None:  # by path, as in a directory scan: a path's blobs stay together
            from .shard import in_shard

            def keep(path: str) -> bool:
                return in_shard(path, *shard)
        from .parallel import run_history

        return run_history(repo, rules, stats, jobs, packs, suppressor, keep=keep)
    if mode == "since":
        assert ref is not None
        base = git.resolve_base(repo, ref)
        head = repo.out("rev-parse", "HEAD")
        stats.extra["git"] = {"base": base, "head": head}
        changes = git.read_changes(repo, base, head, stats)

        def judge(findings: list) -> list:
            kept = git.added_only(findings, changes)
            git.blame(repo, kept, head)
            return kept
        return run(git.change_texts(repo, changes, stats), rules, stats, repo.toplevel, packs,
                   suppressor, judge)
    if repo.bare:
        raise git.GitError(f"{repo_path}: a bare repository has no index to scan (--staged)")
    base = "HEAD" if repo.has_commits() else git.EMPTY_TREE
    changes = git.read_changes(repo, base, None, stats)
    return run(git.change_texts(repo, changes, stats), rules, stats, repo.toplevel, packs,
               suppressor, lambda fs: git.added_only(fs, changes))
