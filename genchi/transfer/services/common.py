"""What every handover step shares: the refusal type, who acted, and logging a refusal."""

from __future__ import annotations

from typing import Any

from genchi.audit.refusals import record_refusal
from genchi.package_format import PackageRefused

from .. import orgkeys
from ..ledger import LedgerError


class TransferError(Exception):
    """A handover step refused for a reason outside the package format; the message is in
    the language active when it was raised."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{message} [{code}]")


Refusal = (PackageRefused, TransferError, orgkeys.OrgKeyError, LedgerError)


def user_or_none(by) -> Any:
    """The acting person as a foreign key value (None for the command line or the system)."""
    return by if getattr(by, "pk", None) else None


def name_of(by) -> str:
    return (getattr(by, "full_name", "") or getattr(by, "username", "")) if by else ""


def log_refusal(action: str, exc: Exception, **detail: Any) -> None:
    """Log a refusal after any transaction rolled back, so the entry survives; a failure
    to log it never hides the refusal itself (see genchi.audit.refusals)."""
    record_refusal(
        action,
        contract=detail.pop("contract", None),
        detail={"code": getattr(exc, "code", "error"), **detail},
    )


def refusal_message(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc)
