"""Logging a refusal: the one audit entry written after a step's transaction rolled back.

A service writes and records in one transaction, so a failed entry undoes the write. A
refusal is different: nothing was written, and its entry is appended after the rollback so
that it survives. If that entry cannot be written, the person must still see the refusal
itself, not the logging failure: the failure goes to the operator's log instead.
"""

from __future__ import annotations

import logging
from typing import Any

from .chain import record

logger = logging.getLogger(__name__)


def record_refusal(action: str, **kwargs: Any) -> None:
    """Append the refusal's entry (same arguments as `record`); never raises."""
    try:
        record(action, **kwargs)
    except Exception:
        logger.exception("could not log the refusal %s", action)
