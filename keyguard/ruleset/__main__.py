"""``python -m keyguard.ruleset``: refresh the built-in rules' JSON snapshot."""
from .load import SNAPSHOT_NAME, builtin_rules_dir, snapshot

out = builtin_rules_dir() / SNAPSHOT_NAME
out.write_text(snapshot(), encoding="utf-8")
print(f"wrote {out}")
