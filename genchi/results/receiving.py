"""The ward receives `results` packages (registered in ResultsConfig.ready). The handover
app calls `receive` inside the import's transaction, so a refusal here stores nothing.

Reconciliation: the package answers a cases package that this ward wrote for the same
contract; it holds one record for each case that package carried, and no other; no
cases package is answered twice. Each photo a record names is in the package and is a
JPEG or PNG by its bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.utils.translation import gettext as _

from genchi import vault
from genchi.intake import selectors as intake_selectors
from genchi.intake import services as intake_services
from genchi.package_format import ExtractedPhoto, Refused
from genchi.transfer import selectors as transfer_selectors
from genchi.transfer.handlers import IncomingPackage

from .models import CaseResult, ResultPhoto, ReturnedResults

# The refusal codes are registered with the handover's (transfer.refusals).
SHOWN_REFS = 5
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def _refs(refs: list[str]) -> str:
    shown = ", ".join(sorted(refs)[:SHOWN_REFS])
    more = len(refs) - SHOWN_REFS
    return shown + (_(" ほか %(count)d 件") % {"count": more} if more > 0 else "")


STORAGE_ALIAS = "genchi_files"
PHOTO_FOLDER = "results"


def photo_storage():
    return storages[STORAGE_ALIAS]


def stored_names() -> Iterable[str]:
    """The storage names of every result photo kept (genchi.core.storedfiles sweeps the
    rest of results/)."""
    return ResultPhoto.objects.values_list("stored_as", flat=True).iterator(chunk_size=5000)


def photo_context(result: CaseResult, name: str) -> str:
    return f"results:photo:{result.case_ref}:{name}"


class ReturnedResultsReceiver:
    kind = "results"
    side = "ward"

    def receive(self, incoming: IncomingPackage) -> int:
        contract, package = incoming.contract, incoming.package
        answered = self._answered_package(incoming)
        sent = intake_selectors.sent_cases(contract, answered.batch_code)
        work = Path(tempfile.mkdtemp(prefix="results-", dir=settings.DATA_DIR))
        saved: list[str] = []  # photo files stored, deleted again on a refusal
        try:
            contents = incoming.read_all(work / "photos")
            records = {}
            for record in contents.records:
                if record["case_ref"] in records:
                    raise Refused(
                        "duplicate_case",
                        _("同じ案件番号の結果が2回含まれています: %(ref)s")
                        % {"ref": record["case_ref"]},
                    )
                records[record["case_ref"]] = record
            self._reconcile(sent, records)
            photos = {p.name.removeprefix("photos/"): p for p in contents.photos}
            returned = ReturnedResults.objects.create(
                contract=contract,
                package=package,
                answers=answered.package_id,
                batch_code=answered.batch_code,
                case_count=len(records),
                photo_count=len(photos),
            )
            for ref, record in records.items():
                self._store(returned, sent[ref], record, photos, saved)
        except BaseException:
            for name in saved:
                photo_storage().delete(name)
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        intake_services.mark_results_received([c.pk for c in sent.values()])
        return len(records)

    @staticmethod
    def _answered_package(incoming: IncomingPackage):
        answers = incoming.package.answers
        message = _(
            "この結果パッケージが答える調査対象者データのパッケージが、この区にありません。"
        )
        if answers is None:
            raise Refused("results_unanswered", message)
        answered = transfer_selectors.sent_cases_package(incoming.contract, answers)
        if answered is None:
            if transfer_selectors.sent_cases_package_elsewhere(incoming.contract, answers):
                raise Refused(
                    "results_foreign",
                    _("この結果パッケージは別の契約で渡したデータに答えるものです。"),
                )
            raise Refused("results_unanswered", message)
        if ReturnedResults.objects.filter(
            contract=incoming.contract, answers=answered.package_id
        ).exists():
            raise Refused(
                "results_answered_already",
                _("%(batch)s の結果はすでに取り込まれています。") % {"batch": answered.batch_code},
            )
        return answered

    @staticmethod
    def _reconcile(sent: dict, records: dict) -> None:
        missing = [ref for ref in sent if ref not in records]
        extra = [ref for ref in records if ref not in sent]
        if extra:
            raise Refused(
                "results_extra",
                _("渡していない案件の結果が含まれています (%(count)d 件): %(refs)s")
                % {"count": len(extra), "refs": _refs(extra)},
            )
        if missing:
            raise Refused(
                "results_missing",
                _("渡した案件のうち %(count)d 件の結果がありません: %(refs)s")
                % {"count": len(missing), "refs": _refs(missing)},
            )

    @staticmethod
    def _store(
        returned, case, record: dict, photos: dict[str, ExtractedPhoto], saved: list[str]
    ) -> None:
        decided_on = record["decided_on"]
        result = CaseResult.objects.create(
            contract_id=returned.contract_id,
            case_id=case.pk,
            case_ref=case.ref,
            returned=returned,
            pref=case.pref,
            outcome=record["outcome"],
            decided_on=dt.date.fromisoformat(decided_on) if decided_on else None,
            visit_count=record["visit_count"],
            nameplate=record["nameplate"],
            tenure=record["tenure"],
            contact_slip=record["contact_slip"],
            visits=json.dumps(record["visits"]) if record["visits"] else "",
            landlord=record["landlord"],
            landlord_phone=record["landlord_phone"],
        )
        scope = vault.contract_scope(returned.contract_id, "ward")
        for name in record["photos"]:
            # Stored before the import's transaction commits: on a refusal, receive()
            # deletes them again (ciphertext under the contract's key either way).
            photo = photos.get(name)
            if photo is None or not _is_image(photo.path):
                raise Refused(
                    "results_photo",
                    _("案件 %(ref)s の写真 %(name)s がパッケージにないか、画像ではありません。")
                    % {"ref": case.ref, "name": name},
                )
            with open(photo.path, "rb") as source:
                stored = vault.save_encrypted_file(
                    photo_storage(),
                    f"{PHOTO_FOLDER}/{returned.contract_id}/{case.ref}/{photo.sha256[:16]}.bin",
                    scope,
                    photo_context(result, name),
                    source,
                )
            saved.append(stored)
            ResultPhoto.objects.create(
                result=result, name=name, stored_as=stored, size=photo.size, sha256=photo.sha256
            )


def _is_image(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(8)
    return head.startswith(IMAGE_MAGIC)


returned_results = ReturnedResultsReceiver()
