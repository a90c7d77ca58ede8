"""Closing a survey (issue 15 item 6): once every case is done, the report (PDF, XLSX)
and, per cases package received, the result package back to the ward through the
transfer machinery (signed, encrypted to the ward, return slip W-O3, ledger), answering
that package. The cases returned move to 報告済み; a package is answered once.

The same code serves `genchi report build` / `genchi report return` and the close page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from genchi import vault
from genchi.access.roles import CONTRACTOR_ADMINS, has_role
from genchi.audit.chain import record as audit
from genchi.jobs import runner
from genchi.jobs.files import private_folder, remove_private_folder
from genchi.jobs.models import JobState
from genchi.parties.models import Contract
from genchi.parties.selectors import does_office_work_on
from genchi.transfer.models import Package
from genchi.transfer.services import download_folder, export_results_package

from . import photos as photo_store
from . import report
from .models import SurveyCase, SurveyClosing


class ClosingBlocked(ValidationError):
    """Cases not done yet: `blockers` names them."""

    def __init__(self, blockers: list[tuple[str, str]]):
        self.blockers = blockers
        shown = "、".join(f"{ref}({why})" for ref, why in blockers[:10])
        more = " " + _("ほか %(n)d 件") % {"n": len(blockers) - 10} if len(blockers) > 10 else ""
        super().__init__(
            _("完了していない案件が %(n)d 件あるため、調査を締められません: %(cases)s%(more)s")
            % {"n": len(blockers), "cases": shown, "more": more}
        )


def require_closable(contract: Contract, package_id: str | None = None) -> None:
    blockers = report.closing_blockers(contract, package_id)
    if blockers:
        raise ClosingBlocked(blockers)
    if not report.cases_of(contract, package_id).exists():
        raise ValidationError(_("この契約には受領した案件がありません。"))


def build_report(
    contract: Contract, out_dir: Path, *, by=None, package_id: str | None = None
) -> tuple[Path, Path]:
    """The report PDF and XLSX of a closable survey (or of one package's cases, all
    done), into `out_dir`."""
    require_closable(contract, package_id)
    pdf, xlsx = report.write_report(contract, Path(out_dir), package_id)
    audit(
        "fieldwork.report_built",
        contract=contract,
        object_type="contract",
        object_id=contract.code,
        detail={"cases": SurveyCase.objects.filter(contract=contract).count()},
    )
    return pdf, xlsx


@dataclass
class Returned:
    package_id: str
    answers: str
    package_pk: int
    slip_pk: int
    cases: int
    photos: int
    path: Path
    slip_number: str


def return_results(
    contract: Contract,
    out_dir: Path | None,
    *,
    by,
    progress=None,
    package_id: str | None = None,
) -> list[Returned]:
    """Write one result package per cases package not yet answered, into `out_dir`, or
    (None) kept on the server for download from its slip's page; `progress(done, total)`
    is called per package. Refused (ValidationError) while cases are not done.
    `package_id`: only the cases of that package (a batch closed before the others)."""
    if out_dir is None:
        out_dir = download_folder(contract.contractor)
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        delivery = Package.Delivery.DOWNLOAD
    else:
        delivery = Package.Delivery.FOLDER
    require_closable(contract, package_id)
    pending = [
        pid
        for pid in ([package_id] if package_id else report.received_packages(contract))
        if report.cases_of(contract, pid).exclude(status=SurveyCase.Status.REPORTED).exists()
    ]
    if not pending:
        raise ValidationError(_("結果はすべて返却済みです。"))
    returned = []
    for n, package_id in enumerate(pending):
        results = list(report.iter_results(contract, package_id))
        with report.photo_folder() as folder:
            photos = report.decrypt_photos(results, folder)
            written = export_results_package(
                contract,
                (r.record for r in results),
                Path(out_dir),
                by=by,
                answers=package_id,
                photos=photos,
                delivery=delivery,
            )
        with transaction.atomic():
            report.cases_of(contract, package_id).update(status=SurveyCase.Status.REPORTED)
        returned.append(
            Returned(
                str(written.package.package_id),
                package_id,
                written.package.pk,
                written.slip.pk,
                len(results),
                len(photos),
                written.path,
                written.slip.number,
            )
        )
        if progress:
            progress(n + 1, len(pending))
    return returned


# --- The close page's job ----------------------------------------------------------------

REPORT_PREFIX = "reports"


def may_close(user, contract: Contract) -> bool:
    """The manager designated on the contract closes its survey."""
    return has_role(user, CONTRACTOR_ADMINS) and does_office_work_on(user, contract)


def start_closing(contract: Contract, *, by) -> SurveyClosing:
    """Ask a worker to close the survey (report, then result packages). Refused at once
    while cases block it; a closing under way is returned instead of a second one."""
    from .tasks import close_survey

    if not may_close(by, contract):
        raise PermissionDenied(_("この契約の調査を締める権限がありません。"))
    require_closable(contract)
    with transaction.atomic():
        running = [
            row
            for row in SurveyClosing.objects.select_for_update(of=("self",), no_key=True).filter(
                contract=contract
            )
            if row.job_is_active
        ]
        if running:
            return running[0]
        row = SurveyClosing.objects.create(contract=contract, job_requested_by=by)
        runner.enqueue(row, close_survey, by=by, step="report")
    return row


def _context(uid: str, suffix: str) -> str:
    return f"fieldwork:report:{uid}:{suffix}"


def _keep(contract: Contract, uid: str, path: Path, suffix: str) -> str:
    scope = vault.contract_scope(contract.pk, vault.CONTRACTOR)
    name = f"{REPORT_PREFIX}/{contract.code}/{uid}.{suffix}.bin"
    with open(path, "rb") as f:
        return vault.save_encrypted_file(
            photo_store.storage(), name, scope, _context(uid, suffix), f
        )


def read_report(row: SurveyClosing, suffix: str, out) -> None:
    """The kept report file (pdf or xlsx) decrypted into `out`; the caller logs it."""
    name = row.report_pdf if suffix == "pdf" else row.report_xlsx
    scope = vault.contract_scope(row.contract_id, vault.CONTRACTOR)
    vault.read_encrypted_file(photo_store.storage(), name, scope, _context(row.uid, suffix), out)


def closing_job(row: SurveyClosing, job: runner.JobRun) -> None:
    """The worker's part: the report (kept encrypted), then the result packages (kept for
    download, with their slips). Cases that block closing end it as refused."""
    contract = Contract.objects.select_related("ward", "contractor").get(pk=row.contract_id)
    try:
        require_closable(contract)
    except ValidationError as exc:
        with transaction.atomic():
            job.finish(state=JobState.REFUSED, outcome="blocked", message=" ".join(exc.messages))
        return
    job.progress(0, 2, "report")
    folder = private_folder(row, create=True)
    kept: list[str] = []
    try:
        pdf, xlsx = report.write_report(contract, folder)
        kept = [_keep(contract, row.uid, pdf, "pdf"), _keep(contract, row.uid, xlsx, "xlsx")]
        job.progress(1, 2, "results")
        already = not report.cases_of(contract).exclude(status=SurveyCase.Status.REPORTED).exists()
        returned = [] if already else return_results(contract, None, by=row.job_requested_by)
    except BaseException:
        photo_store.discard(kept)
        raise
    finally:
        remove_private_folder(row)
    with transaction.atomic():
        job.finish(
            outcome="ok",
            case_count=report.cases_of(contract).count(),
            report_pdf=kept[0],
            report_xlsx=kept[1],
            packages=[
                {"package": r.package_pk, "slip": r.slip_pk, "cases": r.cases, "photos": r.photos}
                for r in returned
            ],
        )
        audit(
            "fieldwork.survey_closed",
            obj=row,
            contract=contract,
            detail={"packages": [r.package_id for r in returned], "cases": row.case_count},
        )
