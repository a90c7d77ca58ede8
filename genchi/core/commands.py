"""Base for Genchi's management commands: an audit actor, Japanese errors, no tracebacks."""

from __future__ import annotations

import argparse
import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from genchi.core.acting import Actor, acting_as

# argparse's own messages (usage errors) in Japanese: operators read them at the terminal.
ARGPARSE_JA = {
    "usage: ": "使い方: ",
    "%(prog)s: error: %(message)s\n": "%(prog)s: エラー: %(message)s\n",
    "the following arguments are required: %s": "次の引数が必要です: %s",
    "unrecognized arguments: %s": "解釈できない引数があります: %s",
    "argument %(argument_name)s: %(message)s": "引数 %(argument_name)s: %(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)": "%(value)r は選べません(選択肢: %(choices)s)",
    "invalid %(type)s value: %(value)r": "%(value)r は正しい値ではありません(%(type)s)",
    "expected one argument": "値を1つ指定してください",
    "expected at most one argument": "値は1つまでです",
    "expected at least one argument": "値を1つ以上指定してください",
    "ambiguous option: %(option)s could match %(matches)s": "オプション %(option)s があいまいです(候補: %(matches)s)",
    "not allowed with argument %s": "引数 %s と同時には指定できません",
    "one of the arguments %s is required": "引数 %s のいずれかが必要です",
    "positional arguments": "引数",
    "options": "オプション",
    "show this help message and exit": "このヘルプを表示して終了する",
}


def _argparse_ja(message: str) -> str:
    return ARGPARSE_JA.get(message, message)


class GenchiCommand(BaseCommand):
    """Runs `run()` as a CLI actor; expected failures become `CommandError` with exit 1."""

    def handle(self, *args, **options):
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        with acting_as(Actor(username=f"cli:{user}", channel="cli")):
            return self.run(*args, **options)

    def create_parser(self, prog_name, subcommand, **kwargs):
        argparse._ = _argparse_ja  # argparse looks its messages up through this name
        return super().create_parser(prog_name, subcommand, **kwargs)

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
