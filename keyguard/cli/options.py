"""The options several commands share, as click decorators: the project's (config, rules,
skip patterns) and the remote sources' (organisations, forges, clones)."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

import click


F = TypeVar("F", bound=Callable[..., Any])


def stacked(*options: Callable[[F], F]) -> Callable[[F], F]:
    """Several click options as one decorator, in the order they are given."""
    def apply(fn: F) -> F:
        for option in reversed(options):
            fn = option(fn)
        return fn
    return apply


# Options every scanning command shares: config, rule choice, skip patterns.
project_options = stacked(
    click.option("--config", "config_file", type=click.Path(dir_okay=False),
                 help="Use this config file (default: .keyguard.yaml or pyproject.toml "
                      "[tool.keyguard] in the scanned root)."),
    click.option("--no-config", is_flag=True,
                 help="Ignore config and baseline files found in the scanned tree."),
    click.option("--rules", "extra_rules", multiple=True, metavar="FILE_OR_DIR",
                 help="Extra YAML rules (repeatable)."),
    click.option("--enable", multiple=True, metavar="PACK_OR_RULE",
                 help="Turn on an opt-in pack or rule, e.g. 'generic' (repeatable)."),
    click.option("--disable", multiple=True, metavar="RULE_OR_PROVIDER",
                 help="Turn off a rule, provider or pack (repeatable)."),
    click.option("--skip", multiple=True, metavar="PATTERN",
                 help="Drop findings in paths matching this gitignore pattern (repeatable)."),
    click.option("--include-vendored", is_flag=True,
                 help="Also scan node_modules/, .venv/, site-packages/ and similar folders."),
)


remote_options = stacked(
    click.option("--github-api-url", metavar="URL",
                 help="GitHub Enterprise Server API (https://HOST/api/v3); default api.github.com."),
    click.option("--gitlab-url", metavar="URL", help="Self-managed GitLab (https://HOST); default gitlab.com."),
    click.option("--include-forks", is_flag=True, help="github:ORG/gitlab:GROUP: also scan forks."),
    click.option("--include-archived", is_flag=True, help="github:ORG/gitlab:GROUP: also scan archived repositories."),
    click.option("--repo-include", multiple=True, metavar="GLOB",
                 help="Scan only repositories whose OWNER/REPO or REPO matches (repeatable)."),
    click.option("--repo-exclude", multiple=True, metavar="GLOB", help="Skip matching repositories (repeatable)."),
    click.option("--list", "list_only", is_flag=True,
                 help="Only list the repositories that would be scanned (--format matrix: "
                      "the JSON of a dynamic GitHub Actions matrix)."),
    click.option("--state", "state_dir", type=click.Path(file_okay=False),
                 help="Keep one report per repository in DIR; a rerun skips repositories "
                      "whose refs have not moved."),
    click.option("--dask", "dask_spec", metavar="local[:N]|tcp://HOST:PORT",
                 help="Scan repositories as tasks on a Dask cluster (needs keyguard's dask extra)."),
    click.option("--depth", type=click.IntRange(1), help="Remote repositories: clone only the last N commits."),
    click.option("--max-repo-mb", type=click.IntRange(1), default=2048, show_default=True,
                 help="Remote repositories: stop a clone larger than this."),
    click.option("--actions-logs", is_flag=True,
                 help="github:OWNER/REPO: scan the logs of recent GitHub Actions runs."),
    click.option("--runs", type=click.IntRange(1, 1000), default=10, show_default=True,
                 help="--actions-logs: how many recent runs."),
)
