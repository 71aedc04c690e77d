"""``keyguard scan``: files, directories, ``-``, git history or changes, and sites by URL."""
from __future__ import annotations

from typing import Any, Callable

import click

from .options import project_options, remote_options, stacked
from .scanning import execute


class ScanCommand(click.Command):
    """``scan --help`` with the options that only URL targets use in a section of their own."""

    URL_ONLY = "URL scans: "

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        general, web = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is None:
                continue
            if record[1].startswith(self.URL_ONLY):
                rest = record[1][len(self.URL_ONLY):]
                web.append((record[0], rest[:1].upper() + rest[1:]))
            else:
                general.append(record)
        with formatter.section("Options"):
            formatter.write_dl(general)
        if web:
            with formatter.section("URL scan options"):
                formatter.write_dl(web)


git_options = stacked(
    click.option("--history", is_flag=True,
                 help="Scan every blob reachable from any ref of the git repo TARGET."),
    click.option("--since", "since_ref", metavar="REF",
                 help="Scan only what the commits in REF..HEAD add (a pull request's diff)."),
    click.option("--staged", is_flag=True,
                 help="Scan only the lines the git index would commit."),
)


def speed_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--shard", metavar="I/N",
                      help="Scan only shard I of N (files split by a hash of their path); "
                           "combine the shards' reports with `keyguard merge`.")(fn)
    return click.option("--jobs", "-j", type=click.IntRange(min=1), metavar="N",
                        help="Worker processes (default: the number of CPUs; "
                             "small scans stay in one process).")(fn)


# Limits for ``keyguard scan https://...``.
web_options = stacked(
    click.option("--max-pages", type=click.IntRange(1), help="URL scans: fetch at most N resources (default 200)."),
    click.option("--max-mb", type=click.IntRange(1), help="URL scans: download at most N MiB in all (default 50)."),
    click.option("--max-time", type=click.IntRange(1), help="URL scans: stop fetching after N seconds (default 120)."),
    click.option("--timeout", type=click.IntRange(1), help="URL scans: per-request time-out in seconds (default 10)."),
    click.option("--max-depth", type=click.IntRange(0),
                 help="URL scans: follow at most N links from the start page (default 3: "
                      "page 0, its scripts 1, chunks they name 2, ...)."),
    click.option("--cross-origin", is_flag=True, help="URL scans: also fetch scripts and maps from other origins."),
)


@click.command(cls=ScanCommand, short_help="Scan files, directories, git history or a deployed site.")
@click.argument("targets", nargs=-1)
@git_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github", "matrix"]),
              help="Report format (default: from -o's extension, .sarif or .json; else text; matrix: with "
                   "--list, a GitHub Actions matrix of repositories).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--baseline", type=click.Path(dir_okay=False),
              help="Report only findings not in this keyguard or detect-secrets baseline.")
@click.option("--fail-on", type=click.Choice(["low", "medium", "high", "critical"]),
              help="Exit 1 only for findings of this severity or worse (default: low).")
@project_options
@click.option("--show-secrets", is_flag=True, help="Print full secrets (never in SARIF).")
@click.option("--color/--no-color", default=None,
              help="Colour text output (default: on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it).")
@click.option("-v", "--verbose", is_flag=True, help="Text report: name every skipped file, not the first 10.")
@click.option("--verify", is_flag=True,
              help="Check each distinct key live with its provider (metadata calls only, no cost).")
@click.option("--agents", is_flag=True,
              help="Scan the coding agents' configs and transcripts under your home directory "
                   "(Claude Code, Claude Desktop, Cursor, Windsurf, Codex, Gemini CLI); read-only.")
@speed_options
@web_options
@remote_options
def scan(**options: Any) -> None:
    """Scan TARGETS for leaked keys: files, directories, - (standard input), the URL of a
    deployed site (its page, scripts, chunks and source maps), a repository URL (with --history
    or --since), github:ORG, gitlab:GROUP or github:OWNER/REPO (default target: .).

    Exit 0 clean, 1 findings, 2 error, 130 interrupted.

    \b
    Examples:
      keyguard scan .                          the working tree
      keyguard scan . --since origin/main      what a pull request's commits add
      keyguard scan dist/ .env.production      a build and the .env it was made from
      keyguard scan https://app.example.com/   a deployed site
      keyguard scan https://app.example.com/ --max-pages 50 --cross-origin
      keyguard scan github:ORG                 every repository of an organisation
    """
    execute(**options)
