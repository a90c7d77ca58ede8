"""Operator consoles (`genchi shell`, `genchi dbshell`) reach every table past the access
layer: opening one is written to the audit log first, with the reason given for it, which
production requires."""

from __future__ import annotations

from django.conf import settings

from genchi.audit.chain import record
from genchi.core.commands import CommandError


def add_reason_argument(parser) -> None:
    parser.add_argument(
        "--reason",
        default="",
        help="開く理由(監査ログに記録。本番環境では必須)",
    )


def log_console(command: str, reason: str) -> None:
    reason = reason.strip()
    if settings.PRODUCTION and not reason:
        raise CommandError(
            f"本番環境で genchi {command} を開くには --reason で理由を指定してください"
            "(監査ログに記録されます)。"
        )
    record("operator.console_opened", detail={"command": command, "reason": reason[:300]})
