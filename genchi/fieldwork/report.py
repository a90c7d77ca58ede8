"""The report (報告書) and the result records of a closed survey (issue 15 item 6).

What leaves the contractor is J4/J5 only, as the allow-list of genchi/results/v1 defines
it (`genchi.package_format.records.RESULT_FIELDS`): the outcome, when it was decided, the
visits' dates and times, the nameplate, owned or rented, for a rented home the landlord
or management company, whether a contact slip was left, and the dwelling's photos.
Everything else a visit holds (the interview, the notes, the surveyor's position, the
meters, the name and address the ward sent) stays in the contractor's records; the
report shows the same items as the records, built from them and nothing else.

Outcomes are stored with the result codes already (genchi.core.outcomes, one vocabulary);
the visit's other choices are mapped to the result codes here and only here
(`NAMEPLATE_CODES` and the others below); tests/fieldwork/test_report.py checks every
choice is mapped.

Memory: the PDF is drawn page by page on a canvas; each case's photo is decrypted, scaled
down to REPORT_PHOTO_SIDE and embedded as a small JPEG, one at a time.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from PIL import Image
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from genchi.core.documents import in_japanese
from genchi.core.formulas import neutralise_formula
from genchi.core.outcomes import Outcome
from genchi.core.pdf import FONT, FONT_BOLD, mm, register_fonts
from genchi.core.wareki import format_date
from genchi.package_format.records import RESULT_FIELDS, blank_result, check_record
from genchi.parties.models import Contract

from . import photos as photo_store
from .models import SurveyCase, Visit, VisitPhoto

# --- The mapping from fieldwork's visit choices to the result codes ------------------------
# (Outcomes need none: fieldwork stores the result codes, genchi.core.outcomes.)

NAMEPLATE_CODES: dict[str, str] = {
    Visit.Nameplate.TAXPAYER: "taxpayer",
    Visit.Nameplate.OTHER: "other",
    Visit.Nameplate.NONE: "none",
    Visit.Nameplate.UNKNOWN: "",  # not checked: the item is left empty
}
TENURE_CODES: dict[str, str] = {
    Visit.Tenure.OWNED: "owned",
    Visit.Tenure.RENTED: "rented",
    Visit.Tenure.UNKNOWN: "unknown",
}
CONTACT_SLIP_CODES: dict[str, str] = {
    Visit.ContactSlip.IN_PERSON: "in_person",
    Visit.ContactSlip.POSTED: "posted",
    Visit.ContactSlip.NOT_LEFT: "not_left",
}
NAMEPLATE_LABELS = {"taxpayer": "本人の氏名", "other": "別の氏名", "none": "なし", "": "確認できず"}
TENURE_LABELS = {"owned": "持ち家", "rented": "賃貸", "unknown": "不明", "": ""}
SLIP_LABELS = {"in_person": "手渡し", "posted": "郵便受けに投函", "not_left": "交付せず", "": ""}

# A case returns the photos of its latest visit that has any, at most this many.
MAX_PHOTOS_PER_CASE = 3
REPORT_PHOTO_SIDE = 640  # px: a nameplate still reads on an A4 page; keeps the PDF small
CLOSABLE = (SurveyCase.Status.DONE, SurveyCase.Status.REPORTED)


@dataclass
class CaseResult:
    """One case's result record and the photos it returns (VisitPhoto rows)."""

    record: dict[str, Any]
    photos: list[tuple[VisitPhoto, str]] = field(default_factory=list)  # (photo, name)


def closing_blockers(contract: Contract, package_id: str | None = None) -> list[tuple[str, str]]:
    """The cases that keep the survey (or the cases of one package received) from
    closing: every case must be done (reviewed and approved; a case that could not be
    surveyed is approved as 調査不能). (case_ref, why) pairs, in Japanese."""
    blockers = []
    cases = cases_of(contract, package_id).exclude(status__in=CLOSABLE)
    for ref, status, review in cases.values_list("case_ref", "status", "review"):
        if status in (SurveyCase.Status.RECEIVED, SurveyCase.Status.ASSIGNED):
            why = _("まだ訪問していません(調査不能なら、その旨の訪問を記録して承認してください)")
        elif review == "sent_back":
            why = _("差し戻し中です")
        else:
            why = _("確認(承認)が済んでいません")
        blockers.append((ref, why))
    return blockers


def _local(moment):
    return timezone.localtime(moment)


def _record_of(case: SurveyCase, visits: list[Visit]) -> CaseResult:
    record = blank_result(case.case_ref, case.outcome or Outcome.NOT_SURVEYABLE.value)
    result = CaseResult(record)
    if not visits:
        return result
    last = visits[-1]
    decided = case.reviewed_at or last.visited_at
    record["decided_on"] = _local(decided).date().isoformat()
    record["visit_count"] = len(visits)
    record["visits"] = [
        {
            "on": _local(v.visited_at).date().isoformat(),
            "at": _local(v.visited_at).strftime("%H:%M"),
        }
        for v in visits
    ]
    record["nameplate"] = NAMEPLATE_CODES[last.nameplate]
    record["tenure"] = TENURE_CODES[last.tenure]
    if last.tenure == Visit.Tenure.RENTED:  # J4: the landlord, for a rented home only
        for visit in reversed(visits):
            if visit.landlord_name or visit.landlord_phone:
                record["landlord"] = visit.landlord_name[:200]
                record["landlord_phone"] = visit.landlord_phone[:40]
                break
    slips = {v.contact_slip for v in visits}
    for code in (Visit.ContactSlip.IN_PERSON, Visit.ContactSlip.POSTED, Visit.ContactSlip.NOT_LEFT):
        if code in slips:
            record["contact_slip"] = CONTACT_SLIP_CODES[code]
            break
    for visit in reversed(visits):
        chosen = [p for p in visit.photos.all() if p.duplicate_of_id is None]
        chosen = chosen or list(visit.photos.all())
        if chosen:
            for n, photo in enumerate(chosen[:MAX_PHOTOS_PER_CASE], start=1):
                ext = "png" if photo.kind == VisitPhoto.Kind.PNG else "jpg"
                result.photos.append((photo, f"{case.case_ref}/{n}.{ext}"))
            break
    record["photos"] = [name for _photo, name in result.photos]
    return result


def cases_of(contract: Contract, package_id: str | None = None):
    qs = SurveyCase.objects.filter(contract=contract).select_related("received_in")
    if package_id is not None:
        qs = qs.filter(received_in__package_id=package_id)
    return qs.order_by("id")


def iter_results(contract: Contract, package_id: str | None = None) -> Iterator[CaseResult]:
    """One allow-listed result per case (checked against the schema), in case order.
    Reads the visits a chunk of cases at a time."""
    cases = list(cases_of(contract, package_id))
    for start in range(0, len(cases), 200):
        chunk = cases[start : start + 200]
        visits: dict[int, list[Visit]] = {c.pk: [] for c in chunk}
        for visit in (
            Visit.objects.filter(case__in=chunk)
            .prefetch_related("photos")
            .order_by("case", "number")
        ):
            visits[visit.case_id].append(visit)
        for case in chunk:
            result = _record_of(case, visits[case.pk])
            problem = check_record("results", result.record)
            if problem is not None:  # a bug, never data: the records are built here
                raise ValueError(f"result record of {case.case_ref}: {problem}")
            yield result


def received_packages(contract: Contract) -> list[str]:
    """The package ids of the cases packages the contract's cases came in, oldest first."""
    ids = (
        SurveyCase.objects.filter(contract=contract)
        .order_by("received_in_id")
        .values_list("received_in__package_id", flat=True)
        .distinct()
    )
    return [str(i) for i in ids]


@contextlib.contextmanager
def photo_folder() -> Iterator[Path]:
    """A private folder (0700) for decrypted photos, removed with its files after."""
    with tempfile.TemporaryDirectory(prefix="genchi-results-") as folder:
        os.chmod(folder, 0o700)
        yield Path(folder)


def decrypt_photos(results: list[CaseResult], folder: Path) -> list[tuple[Path, str]]:
    """Each returned photo decrypted into `folder` (one in memory at a time)."""
    out = []
    for n, result in enumerate(results):
        for m, (photo, name) in enumerate(result.photos):
            path = folder / f"{n}-{m}.{name.rsplit('.', 1)[-1]}"
            path.write_bytes(photo_store.photo_bytes(photo))
            path.chmod(0o600)
            out.append((path, name))
    return out


# --- The report: PDF and XLSX --------------------------------------------------------------


def _report_photo(photo: VisitPhoto, folder: Path, n: int) -> tuple[str, int, int] | None:
    """The photo decrypted, scaled down for a page and written as a small JPEG into the
    private `folder`: reportlab embeds a JPEG file as it is (no decoding to raw pixels
    and compressing again), so a page costs one small JPEG, not a bitmap."""
    try:
        with Image.open(io.BytesIO(photo_store.photo_bytes(photo))) as image:
            image.draft("RGB", (REPORT_PHOTO_SIDE, REPORT_PHOTO_SIDE))
            small = image.convert("RGB")
            # Bilinear is enough for a 640 px page photo and a quarter the work of the
            # default (Lanczos) filter.
            small.thumbnail((REPORT_PHOTO_SIDE, REPORT_PHOTO_SIDE), Image.Resampling.BILINEAR)
            path = folder / f"{n}.jpg"
            small.save(path, "JPEG", quality=70)
            return str(path), small.width, small.height
    except (OSError, ValueError):
        return None


def _counts(results: list[dict], cases: list[SurveyCase]) -> tuple[Counter, Counter]:
    by_outcome = Counter(r["outcome"] for r in results)
    by_pref = Counter(c.pref or "(不明)" for c in cases)
    return by_outcome, by_pref


def _cover(canvas: Canvas, contract: Contract, by_outcome: Counter, by_pref: Counter, total):
    width, height = A4
    left = 22 * mm
    canvas.setFont(FONT, 10)
    canvas.drawRightString(width - left, height - 20 * mm, format_date(timezone.localdate()))
    canvas.setFont(FONT_BOLD, 24)
    canvas.drawCentredString(width / 2, height - 45 * mm, "調査報告書")
    y = height - 70 * mm
    rows = [
        ("件名", contract.title),
        ("契約コード", contract.code),
        ("委託者", contract.ward.name),
        ("受託者", contract.contractor.name),
        ("履行期間", f"{format_date(contract.starts_on)} 〜 {format_date(contract.ends_on)}"),
        ("案件数", f"{total} 件"),
    ]
    for label, value in rows:
        canvas.setFont(FONT, 10)
        canvas.drawString(left, y, label)
        canvas.setFont(FONT_BOLD, 11)
        canvas.drawString(left + 32 * mm, y, value[:60])
        y -= 8 * mm
    y -= 6 * mm
    canvas.setFont(FONT_BOLD, 13)
    canvas.drawString(left, y, "調査結果別の件数")
    y -= 9 * mm
    for code, label in Outcome.choices:
        canvas.setFont(FONT, 11)
        canvas.drawString(left + 4 * mm, y, str(label))
        canvas.drawRightString(left + 80 * mm, y, f"{by_outcome.get(code, 0)} 件")
        y -= 7 * mm
    y -= 6 * mm
    canvas.setFont(FONT_BOLD, 13)
    canvas.drawString(left, y, "都道府県別の件数")
    y -= 9 * mm
    for pref, count in sorted(by_pref.items(), key=lambda kv: (-kv[1], kv[0]))[:20]:
        canvas.setFont(FONT, 11)
        canvas.drawString(left + 4 * mm, y, pref)
        canvas.drawRightString(left + 80 * mm, y, f"{count} 件")
        y -= 7 * mm


def _case_page(
    canvas: Canvas, record: dict, photo: VisitPhoto | None, position: str, folder: Path, n: int
) -> None:
    width, height = A4
    left = 20 * mm
    canvas.setFont(FONT_BOLD, 15)
    canvas.drawString(left, height - 22 * mm, f"案件番号 {record['case_ref']}")
    canvas.setFont(FONT, 8)
    canvas.drawRightString(width - left, height - 22 * mm, position)
    canvas.setLineWidth(0.5)
    canvas.line(left, height - 25 * mm, width - left, height - 25 * mm)
    decided = record["decided_on"]
    visits = "、".join(f"{format_date(_date(v['on']))} {v['at']}" for v in record["visits"][:6]) + (
        " ほか" if len(record["visits"]) > 6 else ""
    )
    rows = [
        ("調査結果", str(Outcome(record["outcome"]).label)),
        ("判定日", format_date(_date(decided)) if decided else ""),
        ("訪問回数", f"{record['visit_count']} 回"),
        ("訪問日時", visits),
        ("表札", NAMEPLATE_LABELS[record["nameplate"]] if record["visit_count"] else ""),
        ("持ち家・賃貸", TENURE_LABELS[record["tenure"]]),
        ("大家・管理会社", record["landlord"]),
        ("同 電話番号", record["landlord_phone"]),
        ("連絡票", SLIP_LABELS[record["contact_slip"]]),
    ]
    y = height - 35 * mm
    for label, value in rows:
        canvas.setFont(FONT, 9.5)
        canvas.drawString(left, y, label)
        canvas.setFont(FONT, 10.5)
        text = value or "—"
        while text:  # long visit lists wrap
            canvas.drawString(left + 32 * mm, y, text[:44])
            text = text[44:]
            if text:
                y -= 5.5 * mm
        y -= 7.5 * mm
    if photo is not None:
        small = _report_photo(photo, folder, n)
        if small is not None:
            path, w, h = small
            box_w, box_h = width - 2 * left, y - 25 * mm
            scale = min(box_w / w, box_h / h)
            canvas.setStrokeColor(colors.grey)
            canvas.drawImage(path, left, y - 5 * mm - h * scale, w * scale, h * scale)
            Path(path).unlink()  # read into the page already
            canvas.setFont(FONT, 8)
            canvas.drawString(
                left, y - 10 * mm - h * scale, f"写真 {len(record['photos'])} 枚のうち 1 枚目"
            )


def _date(text: str):
    import datetime as dt

    return dt.date.fromisoformat(text)


@in_japanese
def report_pdf(contract: Contract, out, package_id: str | None = None) -> int:
    """Write the report PDF of `contract` (or of one package's cases) to the binary file
    `out`; returns the number of case pages."""
    register_fonts()
    cases = list(cases_of(contract, package_id))
    results = list(iter_results(contract, package_id))
    by_outcome, by_pref = _counts([r.record for r in results], cases)
    canvas = Canvas(out, pagesize=A4, initialFontName=FONT, initialFontSize=10)
    canvas.setTitle("調査報告書")
    canvas.setAuthor("Genchi")
    canvas.setCreator("Genchi")
    _cover(canvas, contract, by_outcome, by_pref, len(results))
    canvas.showPage()
    total = len(results)
    with photo_folder() as folder:
        for n, result in enumerate(results, start=1):
            photo = result.photos[0][0] if result.photos else None
            _case_page(canvas, result.record, photo, f"{n} / {total}", folder, n)
            canvas.showPage()
    canvas.save()
    return total


XLSX_COLUMNS = (
    ("case_ref", "案件番号"),
    ("outcome", "調査結果コード"),
    ("outcome_label", "調査結果"),
    ("decided_on", "判定日"),
    ("visit_count", "訪問回数"),
    ("visits", "訪問日時"),
    ("nameplate", "表札"),
    ("tenure", "持家・借家"),
    ("landlord", "大家・管理会社"),
    ("landlord_phone", "大家・管理会社の電話"),
    ("contact_slip", "連絡票"),
    ("photos", "写真の枚数"),
)
assert {k for k, _ in RESULT_FIELDS} >= {k for k, _ in XLSX_COLUMNS} - {"outcome_label"}


def _xlsx_row(record: dict) -> list:
    values = dict(record)
    values["outcome_label"] = str(Outcome(record["outcome"]).label)
    values["visits"] = " / ".join(f"{v['on']} {v['at']}" for v in record["visits"])
    values["decided_on"] = record["decided_on"] or ""
    values["photos"] = len(record["photos"])
    return [neutralise_formula(values[key]) for key, _label in XLSX_COLUMNS]


@in_japanese
def report_xlsx(contract: Contract, out, package_id: str | None = None) -> int:
    """One row per case with the outcome codes, to the binary file `out`."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("調査結果")
    sheet.append([label for _key, label in XLSX_COLUMNS])
    count = 0
    for result in iter_results(contract, package_id):
        sheet.append(_xlsx_row(result.record))
        count += 1
    book.save(out)
    return count


def write_report(
    contract: Contract, out_dir: Path, package_id: str | None = None
) -> tuple[Path, Path]:
    """The report PDF and XLSX written into `out_dir` (atomically: a .part renamed)."""
    stem = f"report-{contract.code}" + (f"-{package_id[:8]}" if package_id else "")
    paths = []
    for suffix, writer in (("pdf", report_pdf), ("xlsx", report_xlsx)):
        final = out_dir / f"{stem}.{suffix}"
        part = final.with_suffix(f".{suffix}.part")
        with open(part, "wb") as f:
            writer(contract, f, package_id)
        part.chmod(0o600)
        part.replace(final)
        paths.append(final)
    return paths[0], paths[1]
