"""Demo step (order 101, after the erasure step): the ward's inspector answers the
checklist items software cannot know, records this fiscal year's on-site audit with a
follow-up action, and imports the tax system's contacts after the contact slip for the
demo contract's returned results — and for any earlier fiscal year's contract with
results, so that the evaluation compares two years."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from genchi.evaluation import services as evaluation
from genchi.parties import services as parties
from genchi.parties.demo import CONTRACT_CODE
from genchi.parties.models import Contract
from genchi.results import selectors as results_selectors

from . import audits, checklist

DEMO_ANSWERS = {
    "C-O2": ("yes", "金庫(施錠・鍵は取扱責任者が保管)で保管。持出し記録なし。"),
    "C-O4": ("yes", "施錠できるかばん3個、キャビネット(施錠)を確認。"),
    "C-O5": ("yes", "事務所は入退室管理あり。PCはセキュリティワイヤーで固定。"),
    "C-S1.1": ("yes", "業務用PCはインターネット非接続。ファイアウォール有効。"),
    "C-S1.2": ("yes", "ウイルス対策ソフトの定義ファイルは当日更新。OS 更新も適用済み。"),
    "C-S2.2": ("no", "タブレット1台の OS 更新が未適用。立入調査の改善事項とした。"),
}
DEMO_AMOUNTS = {"current": 1_980_000, "previous": 2_145_000}


def _contacts_csv(refs: list[str], last_day: dt.date, *, share: int) -> bytes:
    """The tax system's file (CP932, as Excel writes it): every `share`-th case with a
    slip contacted the ward by phone; every other one of those then paid."""
    lines = ["参照番号,接触日,接触方法,金額"]
    for i, ref in enumerate(refs):
        if i % share:
            continue
        day = last_day - dt.timedelta(days=i % 5)
        lines.append(f"{ref},{day.isoformat()},電話,")
        if i % (2 * share) == 0:
            lines.append(f"{ref},{day.isoformat()},納付,{50_000 + 1_000 * i}")
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def _follow_up(staff, contract: Contract, amount: int, *, share: int) -> None:
    facts = results_selectors.result_facts(contract)
    refs = [ref for ref, fact in facts.items() if fact.slip_left]
    if not refs:
        return
    if contract.amount is None:
        parties.update_contract(contract, amount=amount)
    last_day = min(timezone.localdate(), contract.ends_on)
    last_day = max(last_day, contract.starts_on)
    evaluation.import_contacts(
        staff, contract, _contacts_csv(refs, last_day, share=share), filename="接触記録.csv"
    )


def fill_demo_compliance() -> None:
    staff = get_user_model().objects.filter(username="ward-staff").first()
    contract = Contract.objects.filter(code=CONTRACT_CODE).first()
    if staff is None or contract is None:
        return
    today = timezone.localdate()
    for item, (answer, note) in DEMO_ANSWERS.items():
        checklist.answer_item(
            staff, contract, item=item, answer=answer, checked_on=today, note=note
        )
    audits.record_audit(
        staff,
        contract,
        audited_on=today,
        inspector="戸山 花子(税務課)",
        place="関東サービサー株式会社 本社事務所",
        findings="取扱者名簿・研修記録・USBメモリ台帳・タブレットの保管を確認した。"
        "タブレット1台の OS 更新が未適用であった。",
        actions=[
            ("タブレットの OS 更新を適用し、結果を報告すること。", today + dt.timedelta(days=14))
        ],
    )
    _follow_up(staff, contract, DEMO_AMOUNTS["current"], share=2)
    for earlier in Contract.objects.filter(
        ward=contract.ward, fiscal_year__lt=contract.fiscal_year
    ).order_by("fiscal_year"):
        _follow_up(staff, earlier, DEMO_AMOUNTS["previous"], share=3)
