"""Closing a survey (issue 15 item 6): once every case is done, the report (PDF, XLSX)
and, per cases package received, the result package back to the ward through the
transfer machinery (signed, encrypted to the ward, return slip W-O3, ledger), answering
that package. The cases returned move to 報告済み; a package is answered once.

The same code serves `genchi report build` / `genchi report return` and the close page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from genchi.audit.chain import record as audit
from genchi.parties.models import Contract
from genchi.transfer.services import export_results_package

from . import report
from .models import SurveyCase


class ClosingBlocked(ValidationError):
    """Cases not done yet: `blockers` names them."""

    def __init__(self, blockers: list[tuple[str, str]]):
        self.blockers = blockers
        shown = "、".join(f"{ref}({why})" for ref, why in blockers[:10])
        more = _(" ほか %(n)d 件") % {"n": len(blockers) - 10} if len(blockers) > 10 else ""
        super().__init__(
            _("完了していない案件が %(n)d 件あるため、調査を締められません: %(cases)s%(more)s")
            % {"n": len(blockers), "cases": shown, "more": more}
        )


def require_closable(contract: Contract) -> None:
    blockers = report.closing_blockers(contract)
    if blockers:
        raise ClosingBlocked(blockers)
    if not SurveyCase.objects.filter(contract=contract).exists():
        raise ValidationError(_("この契約には受領した案件がありません。"))


def build_report(contract: Contract, out_dir: Path, *, by=None) -> tuple[Path, Path]:
    """The report PDF and XLSX of a closable survey, into `out_dir`."""
    require_closable(contract)
    pdf, xlsx = report.write_report(contract, Path(out_dir))
    audit(
        "fieldwork.report_built",
        actor=by,
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
    cases: int
    photos: int
    path: Path
    slip_number: str


def return_results(contract: Contract, out_dir: Path, *, by, progress=None) -> list[Returned]:
    """Write one result package per cases package not yet answered; `progress(done,
    total)` is called per package. Refused (ValidationError) while cases are not done."""
    require_closable(contract)
    pending = [
        pid
        for pid in report.received_packages(contract)
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
            )
        with transaction.atomic():
            report.cases_of(contract, package_id).update(status=SurveyCase.Status.REPORTED)
        returned.append(
            Returned(
                str(written.package.package_id),
                package_id,
                len(results),
                len(photos),
                written.path,
                written.slip.number,
            )
        )
        if progress:
            progress(n + 1, len(pending))
    return returned
