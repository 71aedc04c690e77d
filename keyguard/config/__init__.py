"""What the user and the project ask for: the config file (``file``), the setup of one scan
from it and the command line (``project``: rules, packs, skip patterns, baselines), gitignore-style
path patterns (``pathspec``), and ``keyguard allow``'s edits to the config (``allow``)."""
