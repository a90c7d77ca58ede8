"""`genchi shell`: Django's, logged before it opens (see _operator.py)."""

from django.core.management.commands import shell

from genchi.core.commands import GenchiCommand

from ._operator import add_reason_argument, log_console


class Command(GenchiCommand, shell.Command):
    help = shell.Command.help + " 開いたことと理由は監査ログに記録されます。"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        add_reason_argument(parser)

    def run(self, *args, reason="", **options):
        log_console("shell", reason)
        return shell.Command.handle(self, *args, **options)
