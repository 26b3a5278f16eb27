"""govkit's handbook half: load and validate governance YAML, render the handbook, wire the CLI."""

__version__ = "0.1.0"
