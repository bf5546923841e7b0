"""Errors of the command line itself (bad combinations of arguments, unusable paths)."""

from __future__ import annotations


class CliError(ValueError):
    """A command-line argument that cannot be used; the message says which and why."""
