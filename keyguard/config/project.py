"""From config file + command-line flags to what a run uses: rules, packs, suppressor, fail-on.

The config is looked up in the scanned root: the one directory given, else the current
directory (for git modes the CLI passes the repository's top level). Flags override it: ``--enable``/``--disable`` win over the config's lists,
``--fail-on`` and ``--baseline`` replace its values, ``--skip`` and ``--rules`` add to its lists.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..findings.baseline import DEFAULT_PATH, DETECT_SECRETS_NAME, Baseline, BaselineError
from ..findings.baseline import load as load_baseline
from .file import Config, ConfigError, find_config_file, load_config
from ..model import Rule

if TYPE_CHECKING:
    from ..detect.generic import GenericPack
    from ..findings.suppress import Suppressor


class SetupError(Exception):
    """Config, rules or baseline unusable: one line naming the file (or flag) and the key."""


@dataclass
class Overrides:
    """What the command line said; empty means 'as configured'."""

    config_file: str | None = None
    no_config: bool = False
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    extra_rules: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    fail_on: str | None = None
    baseline: str | None = None


@dataclass
class Setup:
    root: str
    config: Config
    rules: list[Rule]  # for the engine
    pack_rules: list[Rule] = field(default_factory=list)  # enabled rules of the generic pack
    all_rules: list[Rule] = field(default_factory=list)  # every known rule, on or off
    baseline_files: list[str] = field(default_factory=list)


def config_root(targets: tuple[str, ...] | list[str]) -> str:
    dirs = [t for t in targets if t != "-" and os.path.isdir(t)]
    return dirs[0] if len(dirs) == 1 and len(targets) == 1 else "."


def read_config(root: str, o: Overrides) -> Config:
    try:
        if o.config_file:
            if not os.path.isfile(o.config_file):
                raise SetupError(f"--config: {o.config_file}: no such file")
            return load_config(o.config_file)
        if o.no_config:
            return Config()
        found = find_config_file(root)
        return load_config(found) if found else Config()
    except ConfigError as exc:
        raise SetupError(str(exc)) from None


def _where(cfg: Config, key: str) -> str:
    prefix = "tool.keyguard." if (cfg.source or "").endswith(".toml") else ""
    return f"{cfg.source}: {prefix}{key}"


def setup(targets: tuple[str, ...] | list[str], o: Overrides, use_baseline: bool = True) -> Setup:
    from ..detect.generic import PACK_NAME, pack_rules
    from ..ruleset.load import RuleError, load_rules

    root = config_root(targets)
    cfg = read_config(root, o)
    try:
        rules = load_rules(cfg.extra_rules + o.extra_rules)
    except RuleError as exc:
        raise SetupError(str(exc)) from None
    pack = pack_rules()
    ids = {r.id for r in rules} | {r.id for r in pack}
    known = ids | {r.provider for r in rules} | {PACK_NAME}
    for names, key, flag in (
        (cfg.enable, "rules.enable", None), (cfg.disable, "rules.disable", None),
        (o.enable, None, "--enable"), (o.disable, None, "--disable"),
    ):
        for name in names:
            if name not in known:
                where = flag or _where(cfg, key or "")
                raise SetupError(
                    f"{where}: unknown rule, provider or pack {name!r} (see `keyguard rules list`)"
                )
    enable = {n for n in cfg.enable if n not in o.disable} | set(o.enable)
    disable = {n for n in cfg.disable if n not in o.enable} | set(o.disable)

    def off(r: Rule) -> bool:
        return r.id in disable or r.provider in disable

    on_pack = [
        r for r in pack
        if (PACK_NAME in enable or r.id in enable) and not off(r) and PACK_NAME not in disable
    ]
    cfg = replace(
        cfg,
        enable=tuple(sorted(enable)),
        disable=tuple(sorted(disable)),
        skip=cfg.skip + o.skip,
        fail_on=o.fail_on or cfg.fail_on,
    )
    s = Setup(root, cfg, [r for r in rules if not off(r)], on_pack, rules + pack)
    if use_baseline:
        s.baseline_files = _baseline_files(root, cfg, o)
    return s


def _baseline_files(root: str, cfg: Config, o: Overrides) -> list[str]:
    if o.baseline:
        chosen: str | None = o.baseline
        if not os.path.isfile(chosen):
            raise SetupError(f"--baseline: {chosen}: no such file")
    elif cfg.baseline:
        chosen = cfg.baseline
        if not os.path.isfile(chosen):
            raise SetupError(f"{_where(cfg, 'baseline')}: {chosen}: no such file")
    elif not o.no_config and os.path.isfile(os.path.join(root, DEFAULT_PATH)):
        chosen = os.path.join(root, DEFAULT_PATH)
    else:
        chosen = None
    files = [chosen] if chosen else []
    ds = os.path.join(root, DETECT_SECRETS_NAME)
    if not o.no_config and os.path.isfile(ds) and all(
        os.path.abspath(ds) != os.path.abspath(f) for f in files
    ):
        files.append(ds)
    return files


def read_baselines(files: list[str]) -> Baseline | None:
    if not files:
        return None
    merged = Baseline()
    for f in files:
        try:
            merged.merge(load_baseline(f))
        except BaselineError as exc:
            raise SetupError(str(exc)) from None
    return merged


def suppressor_for(s: Setup, baseline: Baseline | None = None) -> Suppressor:
    from .pathspec import PathSpec, PatternError
    from ..findings.suppress import Suppressor

    try:
        skip = PathSpec(s.config.skip)
    except PatternError as exc:
        raise SetupError(f"--skip: {exc}") from None
    return Suppressor(skip=skip, allowed=s.config.allowed, baseline=baseline)


def packs_for(s: Setup) -> list[GenericPack]:
    if not s.pack_rules:
        return []
    from ..detect.generic import GenericPack

    return [GenericPack(s.pack_rules)]
