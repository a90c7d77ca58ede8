"""What every handover step shares: what a refusal is, who acted, and logging a refusal."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from genchi.audit.refusals import record_refusal
from genchi.package_format.age import DEFAULT_SCRYPT_WORK_FACTOR

from .. import refusals
from ..ledger import LedgerError
from ..refusals import Refused

# A handover step refuses with Refused (the package format's codes and the handover's own,
# genchi.transfer.refusals), or the USB ledger with its LedgerError.
Refusal = (Refused, LedgerError)

# The scrypt work factor (log2 N) a passphrase package may ask of this server before its
# passphrase is tried: each step doubles the memory (2^18 is 256 MiB) and the time. Our
# passphrase packages use the format's default (outgoing.py writes them with it), so a
# page never asks for more; the command line accepts a little more, for a package
# encrypted by the age command at a higher setting. The format's own bound is 22.
WEB_MAX_SCRYPT_WORK_FACTOR = DEFAULT_SCRYPT_WORK_FACTOR
COMMAND_MAX_SCRYPT_WORK_FACTOR = DEFAULT_SCRYPT_WORK_FACTOR + 2


def user_or_none(by) -> Any:
    """The acting person as a foreign key value (None for the command line or the system)."""
    return by if getattr(by, "pk", None) else None


def name_of(by) -> str:
    return (getattr(by, "full_name", "") or getattr(by, "username", "")) if by else ""


def file_sha256(path: Path) -> str:
    """SHA-256 of a package file as it lies on disk (the encrypted bytes): what a person
    compares after copying it, and what both slips print."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def log_refusal(action: str, exc: Exception, **detail: Any) -> None:
    """Log a refusal after any transaction rolled back, so the entry survives; a failure
    to log it never hides the refusal itself (see genchi.audit.refusals)."""
    record_refusal(
        action,
        contract=detail.pop("contract", None),
        detail={"code": getattr(exc, "code", "error"), **detail},
    )


def refusal_message(exc: BaseException) -> str:
    """What to show a person about a refusal of any handover step (see Refusal)."""
    if isinstance(exc, Refused):
        return refusals.refusal_message(exc)
    return getattr(exc, "message", None) or str(exc)
