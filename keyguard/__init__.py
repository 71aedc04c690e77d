"""keyguard: find leaked AI-provider credentials and say how dangerous each one is."""

__version__ = "0.1.0"
