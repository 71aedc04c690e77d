"""``keyguard rules list|show|test``."""
from __future__ import annotations

import sys

import click

from .common import EXIT_CLEAN, EXIT_FINDINGS, KeyguardError, setup_for


@click.group()
def rules() -> None:
    """List, show and test detection rules."""


@rules.command("list", short_help="Every rule, its severity, and whether it is on.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this config file.")
@click.option("--no-config", is_flag=True, help="Ignore the config in the current directory.")
@click.option("--rules", "extra_rules", multiple=True, metavar="FILE_OR_DIR", help="Extra YAML rules.")
@click.option("--enable", multiple=True, metavar="PACK_OR_RULE", help="Turn on an opt-in pack or rule.")
@click.option("--disable", multiple=True, metavar="RULE_OR_PROVIDER", help="Turn off a rule or provider.")
def rules_list(**opts: object) -> None:
    """Every rule, with its severity and whether this project's config has it on."""
    s = setup_for((".",), **opts, use_baseline=False)  # type: ignore[arg-type]
    on = {r.id for r in s.rules} | {r.id for r in s.pack_rules}
    width = max(len(r.id) for r in s.all_rules)
    for r in s.all_rules:
        state = "on " if r.id in on else "off"
        click.echo(f"{r.id:<{width}}  {state}  {r.severity:<8}  {r.provider:<10}  {r.name}")


@rules.command("show", short_help="Everything about one rule.")
@click.argument("rule_id")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this config file.")
@click.option("--no-config", is_flag=True, help="Ignore the config in the current directory.")
@click.option("--rules", "extra_rules", multiple=True, metavar="FILE_OR_DIR", help="Extra YAML rules.")
def rules_show(rule_id: str, **opts: object) -> None:
    """Everything about one rule: pattern, keywords, severity, remediation, examples."""
    s = setup_for((".",), **opts, use_baseline=False)  # type: ignore[arg-type]
    rule = next((r for r in s.all_rules if r.id == rule_id), None)
    if rule is None:
        raise KeyguardError(f"no rule {rule_id!r}; see `keyguard rules list`")
    from ..ruleset.check import describe

    click.echo(describe(rule), nl=False)


@rules.command("test")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
def rules_test(files: tuple[str, ...]) -> None:
    """Run the rules in FILES against their own examples. Exit 1 if any example fails."""
    from ..ruleset.load import RuleError, load_rules
    from ..ruleset.check import check_examples

    try:
        user_rules = load_rules(files, builtin=False)
    except RuleError as exc:
        raise KeyguardError(str(exc)) from None
    if not user_rules:
        raise KeyguardError(f"{', '.join(files)}: no rules")
    report, failed = check_examples(user_rules)
    click.echo(report, nl=False)
    sys.exit(EXIT_FINDINGS if failed else EXIT_CLEAN)
