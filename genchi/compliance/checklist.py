"""The compliance checklist (確認記録票, W-O2): per contract, the controls of the catalogue
the ward checks at the contractor, each answered with evidence.

Where software knows the answer, Genchi reads it from the records themselves, through each
app's selectors, every time the checklist is shown or printed: a record that changes
changes the evidence. Where it cannot (a safe, a locked cabinet, antivirus, a firewall),
the inspector answers, with a note, the date and who checked (`ChecklistAnswer`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from genchi.access.roles import WARD_WRITERS, has_role
from genchi.accounts import selectors as accounts_selectors
from genchi.audit import selectors as audit_selectors
from genchi.audit.chain import record
from genchi.erasure import selectors as erasure_selectors
from genchi.parties import selectors as parties_selectors
from genchi.parties.models import Contract
from genchi.tablet import selectors as tablet_selectors
from genchi.transfer import selectors as transfer_selectors

from . import audits
from .models import ChainCheck, ChecklistAnswer

OK, PROBLEM, PENDING, UNANSWERED = "ok", "problem", "pending", "unanswered"
STATUS_LABELS = {
    OK: gettext_lazy("適合"),
    PROBLEM: gettext_lazy("要確認"),
    PENDING: gettext_lazy("未了"),
    UNANSWERED: gettext_lazy("未回答"),
}


@dataclass(frozen=True)
class ItemDef:
    code: str
    controls: str
    question: str
    by_software: bool


ITEMS: list[ItemDef] = [
    ItemDef(
        "staff",
        "C-O1, S13, S18",
        gettext_lazy(
            "取扱責任者・取扱者・調査員があらかじめ指定されて区に報告され、研修を受け誓約している"
        ),
        True,
    ),
    ItemDef(
        "second_factor",
        "C-S1.3, C-S2.3",
        gettext_lazy("契約に従事する全員が ID・パスワードと二要素認証で利用している"),
        True,
    ),
    ItemDef(
        "log",
        "C-S1.5",
        gettext_lazy("操作の記録(監査ログ)が残され、改ざんされていない"),
        True,
    ),
    ItemDef(
        "sticks",
        "W-O5, W-O6, C-O6",
        gettext_lazy("USBメモリは台帳で貸し出され、返却され、受け渡しのたびに消去されている"),
        True,
    ),
    ItemDef(
        "tablets",
        "C-S2.7, W-S2",
        gettext_lazy("タブレットは登録されたものだけが使われ、終了時に消去されている"),
        True,
    ),
    ItemDef(
        "assignments",
        "C-S2.4, C-S2.6",
        gettext_lazy("割り当てられた案件以外の閲覧はできず、試みはすべて拒否・記録されている"),
        True,
    ),
    ItemDef(
        "erasure",
        "C-O7, S11, S12",
        gettext_lazy("終了後、区の立会いのもとで消去され、消去証明書が提出されている"),
        True,
    ),
    ItemDef(
        "C-O2",
        "C-O2, S8",
        gettext_lazy("区のUSBメモリは施錠できる金庫に保管され、事務所の外に持ち出されていない"),
        False,
    ),
    ItemDef(
        "C-O4",
        "C-O4",
        gettext_lazy(
            "タブレットは施錠できるかばんで運ばれ、使わないときは施錠できるキャビネットに保管されている"
        ),
        False,
    ),
    ItemDef(
        "C-O5",
        "C-O5",
        gettext_lazy("パソコンは盗難対策(セキュリティワイヤーまたは施錠された事務所)がされている"),
        False,
    ),
    ItemDef(
        "C-S1.1",
        "C-S1.1",
        gettext_lazy("パソコンはインターネットから分離され、ファイアウォール等で守られている"),
        False,
    ),
    ItemDef(
        "C-S1.2",
        "C-S1.2",
        gettext_lazy("パソコンのウイルス対策ソフトと更新プログラムが最新である"),
        False,
    ),
    ItemDef(
        "C-S2.2",
        "C-S2.2",
        gettext_lazy("タブレットのウイルス対策ソフトと更新プログラムが最新である"),
        False,
    ),
]
ITEM_BY_CODE = {item.code: item for item in ITEMS}
INSPECTOR_ITEMS = [item.code for item in ITEMS if not item.by_software]


@dataclass
class Row:
    item: ItemDef
    status: str
    lines: list[str] = field(default_factory=list)
    answer: ChecklistAnswer | None = None

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


def _day(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


# --- evidence Genchi knows ----------------------------------------------------------------


def staff_evidence(contract: Contract, today: dt.date) -> Row:
    lines, problems = [], False
    current = [e for e in parties_selectors.roster(contract) if e["designation"].ended_at is None]
    if not any(e["designation"].role == "manager" for e in current):
        lines.append(_("取扱責任者が指定されていません。"))
        problems = True
    for entry in current:
        d, person = entry["designation"], entry["person"]
        training, pledge = entry["training"], entry["pledge"]
        lines.append(
            _(
                "%(role)s %(name)s: 指定 %(since)s・区へ報告 %(reported)s・研修 %(trained)s・誓約 %(pledged)s"
            )
            % {
                "role": d.get_role_display(),
                "name": person.full_name or person.username,
                "since": _day(d.starts_on),
                "reported": _day(d.reported_to_ward_on),
                "trained": _day(training.trained_on if training else None),
                "pledged": _day(pledge.signed_on if pledge else None),
            }
        )
        reasons = parties_selectors.problems_of(training, pledge, today)
        if d.reported_to_ward_on is None:
            reasons.append(_("区への報告日が記録されていません。"))
        for reason in reasons:
            lines.append(f"  – {reason}")
        problems = problems or bool(reasons)
    return Row(ITEM_BY_CODE["staff"], PROBLEM if problems else OK, lines)


def second_factor_evidence(contract: Contract) -> Row:
    current = [e for e in parties_selectors.roster(contract) if e["designation"].ended_at is None]
    people = {e["person"].pk: e["person"] for e in current}
    status = accounts_selectors.second_factor_on(list(people))
    without = [people[pk] for pk, on in status.items() if not on]
    lines = [
        _("従事者 %(n)d 人のうち二要素認証の設定済み %(on)d 人")
        % {"n": len(people), "on": len(people) - len(without)}
    ]
    lines += [
        _("未設定: %(name)s") % {"name": p.full_name or p.username}
        for p in sorted(without, key=lambda p: p.username)
    ]
    ok = bool(people) and not without
    return Row(ITEM_BY_CODE["second_factor"], OK if ok else PROBLEM, lines)


def log_evidence() -> Row:
    count, head_hash = audit_selectors.log_head()
    lines = [_("記録の数 %(n)d・先頭ハッシュ %(hash)s") % {"n": count, "hash": head_hash}]
    last = ChainCheck.objects.filter(ok__isnull=False).first()
    if last is None:
        lines.append(_("改ざん検査はまだ実行されていません。"))
        return Row(ITEM_BY_CODE["log"], PENDING, lines)
    when = _day(last.job_finished_at or last.asked_at)
    if last.ok:
        lines.append(
            _("%(when)s の改ざん検査: 異常なし(%(n)d 件を確認)")
            % {"when": when, "n": last.entry_count}
        )
        return Row(ITEM_BY_CODE["log"], OK, lines)
    lines.append(_("%(when)s の改ざん検査で問題が見つかりました。") % {"when": when})
    return Row(ITEM_BY_CODE["log"], PROBLEM, lines)


def sticks_evidence(contract: Contract) -> Row:
    loans = transfer_selectors.stick_loans_of(contract)
    if not loans:
        return Row(ITEM_BY_CODE["sticks"], PENDING, [_("この契約の貸出記録はまだありません。")])
    lines, problems = [], False
    for loan in loans:
        lines.append(
            _("%(stick)s: 貸出 %(lent)s・返却 %(returned)s・消去 %(wiped)s")
            % {
                "stick": loan["stick"],
                "lent": _day(loan["lent_at"]),
                "returned": _day(loan["returned_at"]),
                "wiped": _day(loan["wiped_at"]),
            }
        )
        problems = problems or loan["returned_at"] is None or loan["wiped_at"] is None
    return Row(ITEM_BY_CODE["sticks"], PROBLEM if problems else OK, lines)


def tablets_evidence(contract: Contract) -> Row:
    devices = list(tablet_selectors.contract_devices(contract))
    if not devices:
        return Row(ITEM_BY_CODE["tablets"], PENDING, [_("登録されたタブレットはありません。")])
    lines, open_ = [], 0
    for device in devices:
        lines.append(
            _("%(label)s(%(who)s): 登録 %(enrolled)s・失効 %(revoked)s・消去指示 %(wiped)s")
            % {
                "label": device.label or device.key_fingerprint[:12],
                "who": device.surveyor.full_name or device.surveyor.username,
                "enrolled": _day(device.enrolled_at),
                "revoked": _day(device.revoked_at),
                "wiped": _day(device.wiped_at),
            }
        )
        if device.revoked_at is None or device.wiped_at is None:
            open_ += 1
    if open_:
        lines.append(_("使用中または消去されていない端末 %(n)d 台") % {"n": open_})
    # Tablets in use during the survey are expected: they are a problem only once the
    # contract is closing or closed.
    ending = contract.status in (Contract.Status.CLOSING, Contract.Status.CLOSED)
    status = OK if not open_ else (PROBLEM if ending else PENDING)
    return Row(ITEM_BY_CODE["tablets"], status, lines)


def assignments_evidence(contract: Contract) -> Row:
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(contract.starts_on, dt.time.min, tzinfo=tz)
    until = timezone.now() + dt.timedelta(seconds=1)
    refused = list(
        audit_selectors.refusals(
            contract_code=contract.code,
            organisation_code=contract.contractor.code,
            since=since,
            until=until,
        )
    )
    lines = [
        _("割当外の案件・画面は権限で拒否されます。%(since)s 以降の拒否の記録: %(n)d 件")
        % {"since": _day(contract.starts_on), "n": len(refused)}
    ]
    lines += [f"#{e.seq} {_day(e.at)} {e.actor or '—'} {e.action_label}" for e in refused[-10:]]
    return Row(ITEM_BY_CODE["assignments"], OK, lines)


def erasure_evidence(contract: Contract) -> Row:
    """Erasure certified (C-O7, S11, S12): the certificate the ward verified, else the
    contractor's erasure seen on this installation, else not yet."""
    record = erasure_selectors.erasure_record(contract)
    item = ITEM_BY_CODE["erasure"]
    if record.verified:
        counts = "、".join(f"{kind} {n:,}" for kind, n in record.verified_counts.items())
        return Row(
            item,
            OK,
            [
                _("消去証明書 %(id)s を検証しました(%(at)s)。")
                % {"id": record.verified_certificate_id, "at": _when(record.verified_at)},
                _("消去した件数: %(counts)s") % {"counts": counts or "—"},
            ],
        )
    if record.erased:
        return Row(
            item,
            PENDING,
            [
                _("受託者が消去しました(%(at)s)。消去証明書の検証を待っています。")
                % {"at": _when(record.erased_at)}
            ],
        )
    closure = parties_selectors.closure_of(contract)
    return Row(
        item,
        PENDING,
        [_("まだ消去されていません(契約の状態: %(status)s)。") % {"status": closure["label"]}],
    )


def _when(at) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else "—"


# --- the inspector's answers ---------------------------------------------------------------


def latest_answers(contract: Contract) -> dict[str, ChecklistAnswer]:
    latest: dict[str, ChecklistAnswer] = {}
    for answer in ChecklistAnswer.objects.filter(contract=contract).order_by(
        "item", "checked_on", "pk"
    ):
        latest[answer.item] = answer  # the last one wins
    return latest


def inspector_row(item: ItemDef, answer: ChecklistAnswer | None) -> Row:
    if answer is None:
        return Row(item, UNANSWERED, [])
    status = PROBLEM if answer.answer == ChecklistAnswer.Answer.NO else OK
    lines = [
        _("%(answer)s(%(day)s 確認: %(who)s)")
        % {
            "answer": answer.get_answer_display(),
            "day": _day(answer.checked_on),
            "who": answer.by_name,
        }
    ]
    if answer.note:
        lines.append(answer.note)
    return Row(item, status, lines, answer)


@dataclass
class Checklist:
    contract: Contract
    rows: list[Row]
    made_at: dt.datetime
    audit_reminder: str = ""

    @property
    def open_count(self) -> int:
        return sum(1 for r in self.rows if r.status != OK)


def checklist(contract: Contract, today: dt.date | None = None) -> Checklist:
    """The checklist of one contract, evidence read now."""
    today = today or timezone.localdate()
    answers = latest_answers(contract)
    rows = [
        staff_evidence(contract, today),
        second_factor_evidence(contract),
        log_evidence(),
        sticks_evidence(contract),
        tablets_evidence(contract),
        assignments_evidence(contract),
        erasure_evidence(contract),
    ]
    rows += [inspector_row(ITEM_BY_CODE[code], answers.get(code)) for code in INSPECTOR_ITEMS]
    return Checklist(
        contract=contract,
        rows=rows,
        made_at=timezone.now(),
        audit_reminder=audits.reminder_text(contract, today),
    )


@transaction.atomic
def answer_item(
    user,
    contract: Contract,
    *,
    item: str,
    answer: str,
    checked_on: dt.date,
    note: str = "",
) -> ChecklistAnswer:
    """The inspector's answer to an item software cannot know; logged."""
    if (
        not has_role(user, WARD_WRITERS)
        or not parties_selectors.contracts_for(user).filter(pk=contract.pk).exists()
    ):
        raise PermissionDenied(_("この契約の確認記録票に記入する権限がありません。"))
    if item not in INSPECTOR_ITEMS:
        raise ValidationError({"item": _("この項目は記録から自動で確認されます。")})
    if answer not in ChecklistAnswer.Answer.values:
        raise ValidationError({"answer": _("確認結果を選んでください。")})
    if checked_on > timezone.localdate():
        raise ValidationError({"checked_on": _("確認日は今日以前にしてください。")})
    if answer == ChecklistAnswer.Answer.NO and not note.strip():
        raise ValidationError({"note": _("不適合のときは所見を書いてください。")})
    row = ChecklistAnswer.objects.create(
        contract=contract,
        item=item,
        answer=answer,
        note=note.strip(),
        checked_on=checked_on,
        by=user,
        by_name=(user.full_name or user.username)[:150],
    )
    record(
        "checklist.answered",
        obj=row,
        contract=contract,
        detail={"item": item, "answer": answer, "checked_on": checked_on.isoformat()},
    )
    return row
