"""Encrypted files in a storage that no row names any more: found and removed.

A visit's photos and the ward's result photos are written into the file storage before
the transaction that stores their rows commits (a storage is no part of the database's
transaction). When that transaction, or any transaction around it, rolls back, or the
process is killed before it commits, the file stays without its row. Each app that
keeps files registers the folder it owns and how to list the names its rows keep
(`register_file_owner`); `sweep_orphans()` removes the files of that folder that no row
names, once they are older than a grace period (a row may still be on its way: its
transaction not committed yet). `genchi worker` runs it as it starts.

One design for every path (a failure inside the service, an outer transaction rolled
back, a killed process): what the database kept decides which files stay.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.core.files.storage import Storage, storages
from django.utils import timezone

logger = logging.getLogger("genchi.jobs")

# Longer than any transaction that writes files (an import of a 1 GB result package takes
# about a minute): a younger file may belong to a row not committed yet.
ORPHAN_GRACE_SECONDS = 60 * 60


@dataclass(frozen=True)
class FileOwner:
    storage_alias: str
    folder: str  # the top folder of the storage the app's files are kept in, e.g. "photos"
    referenced: Callable[[], Iterable[str]]  # the storage names the app's rows keep


_owners: list[FileOwner] = []


def register_file_owner(
    storage_alias: str, folder: str, referenced: Callable[[], Iterable[str]]
) -> None:
    """Declare that the files under `folder` of the storage belong to the rows whose
    names `referenced()` lists (called in the app's AppConfig.ready)."""
    owner = FileOwner(storage_alias, folder.strip("/"), referenced)
    if owner not in _owners:
        _owners.append(owner)


def names_under(storage: Storage, folder: str) -> Iterator[str]:
    """The names of every file under `folder` of `storage`, sub-folders included."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for sub in folders:
        yield from names_under(storage, f"{folder}/{sub}")


def sweep_orphans(*, older_than: float = ORPHAN_GRACE_SECONDS) -> int:
    """Remove the registered folders' files that no row names and that are older than
    `older_than` seconds; how many were removed."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than)
    removed = 0
    for owner in _owners:
        storage = storages[owner.storage_alias]
        names = list(names_under(storage, owner.folder))
        if not names:
            continue
        # Listed before the rows are read: a row committed in between is seen.
        kept = set(owner.referenced())
        for name in names:
            if name in kept:
                continue
            try:
                if storage.get_modified_time(name) > cutoff:
                    continue
                storage.delete(name)
            except OSError:
                continue
            removed += 1
    if removed:
        logger.info("removed %d stored file(s) that no row names", removed)
    return removed
