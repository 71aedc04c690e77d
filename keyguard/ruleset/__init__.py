"""Rules as data: loading and validating the YAML rules (``load``), what their regexes can do
(``regex``), and the checks behind ``keyguard rules show/test`` (``check``). The built-in rules
themselves live in the top-level ``rules/`` folder, shipped in the wheel as ``keyguard/rules/``."""
from .load import RuleError, builtin_rules_dir, load_rules

__all__ = ["RuleError", "builtin_rules_dir", "load_rules"]
