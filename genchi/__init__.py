"""Genchi (現地): residence-verification field surveys, end to end."""

__version__ = "0.1.0"
