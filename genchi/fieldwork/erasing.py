"""Fieldwork's part of a contract's erasure on the contractor side (C-O7, S11): the
received cases, their visits and photos, and the closings with their kept reports.

Called by genchi.erasure inside the erasure's transaction, after the contractor's data key
of the contract is destroyed (so what is deleted is already unreadable). Stored files go
once the transaction commits: an erasure that rolls back leaves them with their rows."""

from __future__ import annotations

import contextlib
import shutil

from django.db import transaction

from genchi.jobs.files import private_folder
from genchi.parties.models import Contract

from . import photos as photo_store
from .models import SurveyCase, SurveyClosing, Visit, VisitPhoto


def erase_contract(contract: Contract) -> dict[str, int]:
    """Delete every row and file of `contract` this app holds. Returns counts by kind."""
    photos = VisitPhoto.objects.filter(contract=contract)
    closings = SurveyClosing.objects.filter(contract=contract)
    files = list(photos.values_list("storage_name", flat=True))
    # What a closing job left waiting for its worker (genchi.jobs.files), if anything.
    folders = [private_folder(row) for row in closings]
    for pdf, xlsx in closings.values_list("report_pdf", "report_xlsx"):
        files += [name for name in (pdf, xlsx) if name]
    counts = {
        "photos": photos.count(),
        "visits": Visit.objects.filter(contract=contract).count(),
        "cases": SurveyCase.objects.filter(contract=contract).count(),
        "reports": sum(1 for _pdf in closings.exclude(report_pdf="")),
    }
    # Photos point at other photos (same picture) and at visits and cases: children first.
    photos.update(duplicate_of=None)
    photos.delete()
    Visit.objects.filter(contract=contract).delete()
    SurveyCase.objects.filter(contract=contract).delete()
    closings.delete()
    transaction.on_commit(lambda: _delete_files(files, folders))
    return counts


def _delete_files(names: list[str], folders: list) -> None:
    storage = photo_store.storage()
    for name in names:
        with contextlib.suppress(OSError):
            storage.delete(name)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def stored_files(contract: Contract) -> list[str]:
    """The storage names of the contract's photos and reports (for the erasure's scan)."""
    names = list(
        VisitPhoto.objects.filter(contract=contract).values_list("storage_name", flat=True)
    )
    for pdf, xlsx in SurveyClosing.objects.filter(contract=contract).values_list(
        "report_pdf", "report_xlsx"
    ):
        names += [n for n in (pdf, xlsx) if n]
    return names
