"""Helpers shared by the handover commands: refusals as Japanese CommandErrors (exit 1)."""

from __future__ import annotations

from pathlib import Path

from genchi.core.commands import CommandError
from genchi.parties.models import Organisation
from genchi.transfer.services import refusal_message


def read_passphrase(path: str | None) -> str | None:
    """The first line of a passphrase file (never a command-line argument: shell history)."""
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        raise CommandError(f"パスワードファイルを読めません: {Path(path).name}") from None
    line = text.splitlines()[0].strip() if text.strip() else ""
    if not line:
        raise CommandError("パスワードファイルが空です。")
    return line


def user_or_none(username: str | None):
    if not username:
        return None
    from genchi.accounts.models import User

    user = (
        User.objects.filter(username=username, is_active=True)
        .select_related("organisation")
        .first()
    )
    if user is None:
        raise CommandError(f"利用者 {username} が見つかりません。")
    return user


def organisation(code: str | None, *, kind: str | None = None) -> Organisation:
    qs = Organisation.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if code:
        org = qs.filter(code=code).first()
        if org is None:
            raise CommandError(f"組織 {code} が見つかりません。")
        return org
    orgs = list(qs[:2])
    if len(orgs) != 1:
        raise CommandError("組織を --org で指定してください。")
    return orgs[0]


def refusal(exc: BaseException) -> CommandError:
    """A refusal of a handover step (services.Refusal) as the command's error: the message,
    then its code."""
    code = getattr(exc, "code", "")
    return CommandError(f"{refusal_message(exc)}" + (f" [{code}]" if code else ""))
