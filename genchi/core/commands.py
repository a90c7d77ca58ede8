"""Base for Genchi's management commands: an audit actor, Japanese errors, no tracebacks."""

from __future__ import annotations

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from genchi.audit.context import Actor, acting_as


class GenchiCommand(BaseCommand):
    """Runs `run()` as a CLI actor; expected failures become `CommandError` with exit 1."""

    def handle(self, *args, **options):
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        with acting_as(Actor(username=f"cli:{user}", channel="cli")):
            return self.run(*args, **options)

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            # From a terminal: a Japanese line and the exit status, not "CommandError: …".
            # call_command() (tests, other code) still gets the exception.
            if not getattr(self, "_called_from_command_line", False) or options.get("traceback"):
                raise
            self.stderr.write(f"エラー: {exc}")
            sys.exit(exc.returncode)

    def run(self, *args, **options):  # pragma: no cover - every command overrides it
        raise NotImplementedError


__all__ = ["CommandError", "GenchiCommand"]
