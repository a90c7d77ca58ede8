"""The handover's part of a contract's erasure on one side (C-O7, S11): the package files
this side still keeps for the contract (downloads waiting in the outbox, the private
folders of its export and import jobs) are overwritten and deleted. The package and slip
rows stay: they hold no personal data (ids, digests, counts, the staff who handed over)
and are the record of every handover the certificate names."""

from __future__ import annotations

from genchi.jobs.files import private_folder, remove_private_folder
from genchi.parties.models import Contract, Organisation

from ..models import HandoverJob, Package
from .outgoing import remove_server_copy


def erase_contract_files(contract: Contract, organisation: Organisation) -> dict[str, int]:
    """Inside the erasure's transaction. Returns counts by kind."""
    removed = 0
    for package in Package.objects.filter(
        contract=contract, holder=organisation, delivery=Package.Delivery.DOWNLOAD
    ):
        if remove_server_copy(package):
            removed += 1
    folders = 0
    for job in HandoverJob.objects.filter(contract=contract, organisation=organisation):
        if private_folder(job).exists():
            remove_private_folder(job)
            folders += 1
    return {"package_files": removed, "job_folders": folders}
