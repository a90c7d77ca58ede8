"""Writes of the follow-up: contacts imported from the tax system's file (CSV in CP932 or
UTF-8, or XLSX; read with the intake's reader) or entered by hand.

An import is all or nothing: every row is checked first; one bad row refuses the whole
file, each problem named by row and column in Japanese. A line already imported (same
case, method, date and amount) is counted as such, not added twice.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.access.roles import WARD_WRITERS, has_role
from genchi.audit.chain import record
from genchi.audit.refusals import record_refusal
from genchi.core.wareki import WarekiError, gregorian_year
from genchi.intake.columns import normalise_header
from genchi.intake.reader import FileRefused, open_table
from genchi.parties.models import Contract
from genchi.results import selectors as results_selectors

from .models import FollowUpContact
from .selectors import evaluation_contracts_for

MAX_ROWS = 20_000
MAX_SHOWN_ERRORS = 50

# Column: (label in the messages, accepted headers, normalised).
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ref": ("参照番号", ("参照番号", "案件参照番号", "案件番号", "reference", "ref")),
    "contacted_on": ("接触日", ("接触日", "日付", "連絡日", "来庁日", "納付日", "date")),
    "kind": ("接触方法", ("接触方法", "方法", "区分", "種別", "kind")),
    "amount": ("金額", ("金額", "納付額", "納付金額", "金額円", "amount")),
}
REQUIRED = ("ref", "contacted_on", "kind")
_HEADERS = {
    normalise_header(name): column for column, (_l, names) in COLUMNS.items() for name in names
}
KIND_WORDS = {
    "電話": FollowUpContact.Kind.PHONE,
    "phone": FollowUpContact.Kind.PHONE,
    "来庁": FollowUpContact.Kind.VISIT,
    "窓口": FollowUpContact.Kind.VISIT,
    "visit": FollowUpContact.Kind.VISIT,
    "納付": FollowUpContact.Kind.PAYMENT,
    "入金": FollowUpContact.Kind.PAYMENT,
    "payment": FollowUpContact.Kind.PAYMENT,
}
_WAREKI = re.compile(
    r"^(令和|平成|[RrHh])\s*(元|\d{1,2})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?$"
)
_WESTERN = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[T ]00:00(?::00)?)?$")


class FollowUpRefused(Exception):
    """The file is refused as a whole; `errors` are Japanese sentences, row and column."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass
class ImportOutcome:
    rows: int
    added: int
    already: int
    cases: int
    errors: list[str] = field(default_factory=list)


def parse_date(text: str) -> dt.date | None:
    """2026-07-01, 2026/7/1, 20260701, R8.7.1, 令和8年7月1日 (and an Excel date cell)."""
    text = unicodedata.normalize("NFKC", text).strip()
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        if m := _WESTERN.match(text):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := _WAREKI.match(text):
            year = 1 if m[2] == "元" else int(m[2])
            return dt.date(gregorian_year(m[1], year), int(m[3]), int(m[4]))
    except (ValueError, WarekiError):
        return None
    return None


def parse_amount(text: str) -> int | None:
    text = unicodedata.normalize("NFKC", text).strip().replace(",", "").replace("¥", "")
    text = text.removesuffix("円").strip()
    if not text:
        return 0
    if not re.fullmatch(r"\d{1,12}", text):
        return None
    return int(text)


def may_write(user, contract: Contract) -> bool:
    return (
        has_role(user, WARD_WRITERS)
        and evaluation_contracts_for(user).filter(pk=contract.pk).exists()
    )


def _check_writer(user, contract: Contract) -> None:
    if not may_write(user, contract):
        raise PermissionDenied(_("この契約の追跡を記録する権限がありません。"))


def _row_error(row: int, column: str, text: str) -> str:
    return _("%(row)d 行目「%(column)s」: %(text)s") % {
        "row": row,
        "column": _(COLUMNS[column][0]),
        "text": text,
    }


def _check_values(
    contract: Contract,
    facts: dict,
    *,
    ref: str,
    kind_text: str,
    date_text: str,
    amount_text: str,
    today: dt.date,
) -> tuple[dict, list[tuple[str, str]]]:
    """The contact of one row, or its problems as (column, sentence)."""
    problems: list[tuple[str, str]] = []
    ref = unicodedata.normalize("NFKC", ref).strip()
    if not ref:
        problems.append(("ref", _("参照番号が空です。")))
    elif ref not in facts:
        problems.append(
            ("ref", _("「%(ref)s」はこの契約の調査結果にない参照番号です。") % {"ref": ref})
        )
    kind = KIND_WORDS.get(unicodedata.normalize("NFKC", kind_text).strip().lower())
    if kind is None:
        problems.append(
            (
                "kind",
                _("「%(value)s」は接触方法として読めません(電話・来庁・納付のいずれか)。")
                % {"value": kind_text},
            )
        )
    day = parse_date(date_text)
    if day is None:
        problems.append(
            ("contacted_on", _("「%(value)s」は日付として読めません。") % {"value": date_text})
        )
    elif day > today:
        problems.append(("contacted_on", _("未来の日付です。")))
    elif day < contract.starts_on:
        problems.append(("contacted_on", _("契約の履行期間の開始より前の日付です。")))
    amount = parse_amount(amount_text)
    if amount is None:
        problems.append(
            (
                "amount",
                _("「%(value)s」は金額(円、整数)として読めません。") % {"value": amount_text},
            )
        )
    elif kind == FollowUpContact.Kind.PAYMENT and amount == 0:
        problems.append(("amount", _("納付には金額が必要です。")))
    elif kind is not None and kind != FollowUpContact.Kind.PAYMENT and amount:
        problems.append(("amount", _("金額は納付のときだけ書きます。")))
    return {"case_ref": ref, "kind": kind, "contacted_on": day, "amount": amount or 0}, problems


def _store(user, contract: Contract, contacts: list[dict], source: str) -> tuple[int, int]:
    added = already = 0
    for contact in contacts:
        _obj, created = FollowUpContact.objects.get_or_create(
            contract=contract,
            case_ref=contact["case_ref"],
            kind=contact["kind"],
            contacted_on=contact["contacted_on"],
            amount=contact["amount"],
            defaults={"source": source, "by": user},
        )
        added += created
        already += not created
    return added, already


def import_contacts(user, contract: Contract, data: bytes, *, filename: str = "") -> ImportOutcome:
    """Check every row, then store all of them in one transaction, or refuse the file."""
    _check_writer(user, contract)
    try:
        return _import(user, contract, data, filename)
    except FollowUpRefused as refused:
        record_refusal(
            "followup.import_refused",
            contract=contract,
            detail={"file": filename[:200], "errors": len(refused.errors)},
        )
        raise


def _import(user, contract: Contract, data: bytes, filename: str) -> ImportOutcome:
    try:
        table = open_table(data, filename=filename)
    except FileRefused as exc:
        raise FollowUpRefused([exc.message]) from exc
    where = {}
    for index, header in enumerate(table.header):
        column = _HEADERS.get(normalise_header(header))
        if column and column not in where:
            where[column] = index
    missing = [_(COLUMNS[c][0]) for c in REQUIRED if c not in where]
    if missing:
        raise FollowUpRefused(
            [
                _("見出し行(1 行目)に必要な列がありません: %(columns)s")
                % {"columns": "、".join(missing)}
            ]
        )
    facts = results_selectors.result_facts(contract)
    today = timezone.localdate()
    contacts, errors = [], []
    for number, cells in table.rows:
        if len(contacts) + len(errors) >= MAX_ROWS:
            raise FollowUpRefused([_("行が多すぎます(上限 %(n)d 行)。") % {"n": MAX_ROWS}])

        def cell(column: str, cells=cells) -> str:
            index = where.get(column)
            return cells[index] if index is not None and index < len(cells) else ""

        if not any(c.strip() for c in cells):
            continue  # an empty line, as Excel leaves at the end
        contact, problems = _check_values(
            contract,
            facts,
            ref=cell("ref"),
            kind_text=cell("kind"),
            date_text=cell("contacted_on"),
            amount_text=cell("amount"),
            today=today,
        )
        errors += [_row_error(number, column, text) for column, text in problems]
        if not problems:
            contacts.append(contact)
    if errors:
        shown = errors[:MAX_SHOWN_ERRORS]
        if len(errors) > MAX_SHOWN_ERRORS:
            shown.append(_("ほか %(n)d 件の問題があります。") % {"n": len(errors) - len(shown)})
        raise FollowUpRefused(shown)
    if not contacts:
        raise FollowUpRefused([_("取り込む行がありません。")])
    with transaction.atomic():
        added, already = _store(user, contract, contacts, FollowUpContact.Source.IMPORT)
        record(
            "followup.imported",
            contract=contract,
            detail={
                "file": filename[:200],
                "rows": len(contacts),
                "added": added,
                "already": already,
            },
        )
    return ImportOutcome(
        rows=len(contacts),
        added=added,
        already=already,
        cases=len({c["case_ref"] for c in contacts}),
    )


@transaction.atomic
def add_contact(
    user,
    contract: Contract,
    *,
    case_ref: str,
    kind: str,
    contacted_on: dt.date,
    amount: int = 0,
) -> FollowUpContact:
    """One contact entered by hand on the case; the same checks as a row of a file."""
    _check_writer(user, contract)
    contact, problems = _check_values(
        contract,
        results_selectors.result_facts(contract),
        ref=case_ref,
        kind_text=kind,  # a Kind value is one of the words a file may use
        date_text=contacted_on.isoformat() if contacted_on else "",
        amount_text=str(amount or ""),
        today=timezone.localdate(),
    )
    if problems:
        fields = {"ref": "case_ref"}
        raise ValidationError({fields.get(c, c): [text] for c, text in problems})
    obj, created = FollowUpContact.objects.get_or_create(
        contract=contract,
        case_ref=contact["case_ref"],
        kind=contact["kind"],
        contacted_on=contact["contacted_on"],
        amount=contact["amount"],
        defaults={"source": FollowUpContact.Source.MANUAL, "by": user},
    )
    if not created:
        raise ValidationError({"case_ref": [_("同じ接触がすでに記録されています。")]})
    record(
        "followup.recorded",
        obj=obj,
        contract=contract,
        detail={"case": obj.case_ref, "kind": obj.kind, "on": obj.contacted_on.isoformat()},
    )
    return obj
