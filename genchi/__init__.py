"""Genchi (現地): residence-verification field surveys, end to end."""

__version__ = "0.2.0.dev0"
