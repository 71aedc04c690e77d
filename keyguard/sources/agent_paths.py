"""Is a path an agent's config or session transcript? Judged by name and place alone, so that
every scan can ask it of every text without importing the parsers (``agents`` and the modules
it uses are imported only when a text is one)."""
from __future__ import annotations

import os
from typing import Iterator

from ..model import ScanText, Stats


# every name an agent's config file has (a settings*.json aside): most paths are refused on it
_CONFIG_NAMES = frozenset({"claude_desktop_config.json", ".mcp.json", ".claude.json", ".credentials.json",
                           "mcp.json", "config.toml", "mcp_config.json"})


def agent_config_kind(path: str) -> str | None:
    """The agent whose config file ``path`` is (by name and place), or None."""
    name = path[max(path.rfind("/"), path.rfind("\\")) + 1:]
    if name not in _CONFIG_NAMES and not (name.startswith("settings") and name.endswith(".json")):
        return None  # every scan asks this of every file
    parts = os.path.normpath(path).replace("\\", "/").split("/")
    name = parts[-1]
    parent = parts[-2] if len(parts) > 1 else ""
    grandparent = parts[-3] if len(parts) > 2 else ""
    if name == "claude_desktop_config.json":
        return "Claude Desktop"
    if name in (".mcp.json", ".claude.json"):
        return "Claude Code"
    if parent == ".claude" and name.startswith("settings") and name.endswith(".json"):
        return "Claude Code"
    if parent == ".claude" and name == ".credentials.json":
        return "Claude Code"
    if parent == ".cursor" and name == "mcp.json":
        return "Cursor"
    if parent == ".vscode" and name == "mcp.json":
        return "VS Code"
    if parent == ".codex" and name == "config.toml":
        return "Codex"
    if parent == ".gemini" and name == "settings.json":
        return "Gemini CLI"
    if grandparent == ".codeium" and parent == "windsurf" and name == "mcp_config.json":
        return "Windsurf"
    return None


def transcript_agent(path: str) -> str | None:
    """The agent whose session transcript ``path`` is, judged by where it lies, or None."""
    parts = os.path.normpath(path).replace("\\", "/").split("/")
    name = parts[-1]
    if not name.endswith(".jsonl"):
        return None
    if len(parts) >= 4 and parts[-4] == ".claude" and parts[-3] == "projects":
        return "Claude Code"
    if name.startswith("rollout-") and ("sessions" in parts or "archived_sessions" in parts):
        return "Codex"
    return None


def reader_for(path: str) -> str | None:
    """"config", "transcript" or None for a file judged by its path."""
    if agent_config_kind(path):
        return "config"
    if transcript_agent(path):
        return "transcript"
    return None


def with_agent_files(texts: Iterator[ScanText], stats: Stats) -> Iterator[ScanText]:
    """Pass ``texts`` through; an agent config or transcript becomes the texts ``agents`` reads
    from it (one per value, one per record), for every source."""
    for st in texts:
        if reader_for(st.path) is None:
            yield st
            continue
        from .agents import agent_file_texts

        yield from agent_file_texts(st, stats)
