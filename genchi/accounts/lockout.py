"""Failure counting that holds under concurrent requests (C-S1.3).

A counter row (a `User`, or an `UnknownNameCounter` for a name without an account) has
`failed_sign_ins` and `locked_until`. A password check is slow (Argon2), so it runs
between two short steps under the row's lock, never inside one:

1. `admit` reserves a try: it refuses while the row is locked, or while failures plus
   checks under way already reach the threshold; otherwise it adds one to the count.
2. The caller checks the password, outside any transaction.
3. `settle`: a wrong password keeps its reservation as a failure and locks the row at the
   threshold; a right one gives its reservation back, and is still refused if the row was
   locked meanwhile.

So no more than the threshold of passwords is checked before the lock, however many arrive
at once, and a right password settling after the locking failure is refused with the rest.
The reservation makes a burst conservative: five checks under way at once count as five
until they settle, and a sixth try arriving meanwhile locks the row. A person typing one at
a time sees exactly "locked at the fifth failure".

The row lock is SELECT … FOR UPDATE on PostgreSQL. On SQLite, `select_for_update` does
nothing, but every transaction begins IMMEDIATE (settings), which takes the database's write
lock first, so these steps run one after the other there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone


@dataclass(frozen=True)
class Settled:
    ok: bool  # the password was right and the row is not locked
    locked_until: datetime | None  # the row's lock, if it is locked now
    just_locked: bool  # this failure set the lock


def is_locked(row: models.Model, now: datetime | None = None) -> bool:
    return row.locked_until is not None and row.locked_until > (now or timezone.now())


def _locked_row(row: models.Model) -> models.Model:
    return row._meta.model._default_manager.select_for_update(of=("self",), no_key=True).get(
        pk=row.pk
    )


def _copy_back(fresh: models.Model, row: models.Model) -> None:
    row.failed_sign_ins, row.locked_until = fresh.failed_sign_ins, fresh.locked_until


@dataclass(frozen=True)
class Admission:
    admitted: bool
    just_locked: bool  # refused because the threshold of tries is under way: locked now


def admit(row: models.Model) -> Admission:
    """Reserve one password check on `row`, or refuse it unchecked. A try arriving while
    as many as the threshold are under way locks the row: such a burst is an attack, and
    a lock ends by itself, where reservations lost with a killed process would not."""
    with transaction.atomic():
        fresh = _locked_row(row)
        now = timezone.now()
        if fresh.locked_until is not None and fresh.locked_until <= now:
            # A lock that has run out starts a new count.
            fresh.locked_until, fresh.failed_sign_ins = None, 0
        admitted = (
            fresh.locked_until is None and fresh.failed_sign_ins < settings.GENCHI_LOCKOUT_THRESHOLD
        )
        just_locked = False
        if admitted:
            fresh.failed_sign_ins += 1
        elif fresh.locked_until is None:
            just_locked = _fail(fresh, now)
        fresh.save(update_fields=["failed_sign_ins", "locked_until"])
        _copy_back(fresh, row)
        return Admission(admitted=admitted, just_locked=just_locked)


def _fail(fresh: models.Model, now: datetime) -> bool:
    """The reserved try failed; lock at the threshold. Whether this failure locked."""
    if is_locked(fresh, now) or fresh.failed_sign_ins < settings.GENCHI_LOCKOUT_THRESHOLD:
        return False
    fresh.locked_until = now + timedelta(minutes=settings.GENCHI_LOCKOUT_MINUTES)
    return True


def settle(row: models.Model, *, ok: bool) -> Settled:
    """Close the try `admit` reserved. Call inside the transaction that records it."""
    with transaction.atomic():
        fresh = _locked_row(row)
        now = timezone.now()
        just_locked = False
        if ok:
            fresh.failed_sign_ins = max(0, fresh.failed_sign_ins - 1)
        else:
            just_locked = _fail(fresh, now)
        fresh.save(update_fields=["failed_sign_ins", "locked_until"])
        _copy_back(fresh, row)
        locked = is_locked(fresh, now)
        return Settled(
            ok=ok and not locked, locked_until=fresh.locked_until, just_locked=just_locked
        )


def give_back(row: models.Model) -> None:
    """Return a reservation that was never settled (its transaction failed)."""
    with transaction.atomic():
        fresh = _locked_row(row)
        fresh.failed_sign_ins = max(0, fresh.failed_sign_ins - 1)
        fresh.save(update_fields=["failed_sign_ins"])
        _copy_back(fresh, row)


def count_failure(fresh: models.Model) -> bool:
    """One failure of a check made under the row's lock already (the second factor):
    counts it and locks at the threshold. Whether this failure locked."""
    fresh.failed_sign_ins += 1
    just_locked = _fail(fresh, timezone.now())
    fresh.save(update_fields=["failed_sign_ins", "locked_until"])
    return just_locked
