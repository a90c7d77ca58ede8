"""Erasure with the ward present, on the contractor's side (C-O7, S11, S12, W-S2), and the
ward's one-time code for a witness on another installation.

The order is the promise of D1:

1. the manager starts it, once every cases package received has been answered by a
   results package (refused before, with the reason);
2. the ward's staff member present is named and confirms: signing in here (password and
   second factor: one installation hosting both sides) or reading out the one-time code
   the ward's own Genchi shows for this erasure's challenge (`contract_keys.witness_code`:
   both Genchis derive it from the contract's recipient keys, no network between them);
3. in one transaction, each step logged: the contractor's data key of the contract and
   its package recipient key are destroyed first (crypto-erasure), then every app deletes
   its own rows of the contract (fieldwork: cases, visits, photos, reports; planner: bases,
   proposals, plans; tablet: every device revoked, so it wipes at its next contact;
   transfer: package files still kept) — stored files go once that commits;
4. the database is compacted (VACUUM on SQLite, so deleted pages do not linger in the
   file; on PostgreSQL the certificate says old backups cannot be read without the
   destroyed keys), and the master key is rotated, so an old copy of the key file cannot
   unwrap anything new;
5. the certificate is fixed (counts, key ids, witnesses, tablets, the log's head hash) and
   then written as a signed package of kind `certificate` for the ward (package_handlers).

A rollback of step 3 leaves everything as it was (the atomicity test); the later steps
each log themselves, and an erasure stopped after step 3 is finished by calling `erase`
again (its state says where it stands).
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.access.roles import WARD_WRITERS, Role, has_role
from genchi.accounts import services as accounts
from genchi.audit.chain import head, record
from genchi.audit.refusals import record_refusal
from genchi.fieldwork import erasing as fieldwork_erasing
from genchi.parties.models import Contract, Designation
from genchi.parties.selectors import active_designations
from genchi.planner import erasing as planner_erasing
from genchi.tablet import selectors as tablet_selectors
from genchi.tablet import services as tablet_services
from genchi.transfer import contract_keys
from genchi.transfer import selectors as transfer_selectors
from genchi.transfer import services as transfer
from genchi.vault import keys as vault_keys

from .models import Erasure

# transfer's Package.Direction and Package.Delivery values (its models are its own).
INCOMING, OUTGOING = "in", "out"
FOLDER, DOWNLOAD = "folder", "download"


class ErasureRefused(Exception):
    """A step of an erasure refused; the message says why, in the active language."""

    def __init__(self, message: str, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _refuse(code: str, message: str, contract: Contract) -> ErasureRefused:
    """Log a refusal (outside any transaction, so that its entry stays) and return it."""
    record_refusal("erasure.refused", contract=contract, detail={"code": code})
    return ErasureRefused(message, code)


# --- who and when ---------------------------------------------------------------------------


def _require_manager(by, contract: Contract) -> None:
    """The manager designated on the contract (取扱責任者) erases; the command line (no
    person) is the operator's."""
    if by is None:
        return
    designated = (
        active_designations(by).filter(contract=contract, role=Designation.Role.MANAGER).exists()
    )
    if by.role != Role.MANAGER or by.organisation_id != contract.contractor_id or not designated:
        raise _refuse(
            "not_allowed",
            _("消去を始められるのは、この契約の取扱責任者だけです。"),
            contract,
        )


def blockers(contract: Contract) -> list[str]:
    """Why the contractor may not erase `contract` yet (empty: it may). Results must have
    been returned for every cases package received."""
    received = transfer_selectors.contract_packages(
        contract, contract.contractor, direction=INCOMING, kind="cases"
    )
    sent = transfer_selectors.contract_packages(
        contract, contract.contractor, direction=OUTGOING, kind="results"
    )
    if not received:
        return [_("この契約の調査対象者データを受け取っていません。")]
    answered = {p["answers"] for p in sent}
    open_batches = [
        p["batch"] or p["package_id"][:8] for p in received if p["package_id"] not in answered
    ]
    if open_batches:
        return [
            _("結果をまだ返却していない受領データがあります: %(batches)s")
            % {"batches": "、".join(open_batches)}
        ]
    return []


def erasure_of(contract: Contract) -> Erasure | None:
    return Erasure.objects.filter(contract=contract, organisation_id=contract.contractor_id).first()


def start_erasure(contract: Contract, *, by) -> Erasure:
    """Step 1: open the erasure (or return the one already open). The checks run before
    the transaction, so that a refusal's entry stays."""
    _require_manager(by, contract)
    existing = erasure_of(contract)
    if existing is not None:
        if existing.state == Erasure.State.CERTIFIED:
            raise _refuse(
                "erased",
                _("契約 %(code)s は消去済みです(証明書 %(id)s)。")
                % {"code": contract.code, "id": existing.certificate_id},
                contract,
            )
        return existing
    problems = blockers(contract)
    if problems:
        raise _refuse(
            "results_not_delivered",
            _("まだ消去できません。") + " " + " ".join(problems),
            contract,
        )
    with transaction.atomic():
        erasure = Erasure.objects.create(
            contract=contract, organisation=contract.contractor, by=by if by else None
        )
        record(
            "erasure.started",
            obj=erasure,
            contract=contract,
            detail={"erasure": erasure.pk, "challenge": erasure.challenge},
        )
    return erasure


# --- the witness --------------------------------------------------------------------------


def _witnessed(erasure: Erasure, *, name: str, org: str, how: str, user=None) -> Erasure:
    with transaction.atomic():
        row = Erasure.objects.select_for_update(of=("self",), no_key=True).get(pk=erasure.pk)
        if row.state != Erasure.State.AWAITING_WITNESS:
            raise ErasureRefused(_("この消去の立会者はすでに確認されています。"), "bad_state")
        row.witness_name = name.strip()[:100]
        row.witness_org = org[:200]
        row.witnessing = how
        row.witness_user = user
        row.witnessed_at = timezone.now()
        row.state = Erasure.State.WITNESSED
        row.save(
            update_fields=[
                "witness_name",
                "witness_org",
                "witnessing",
                "witness_user",
                "witnessed_at",
                "state",
            ]
        )
        record(
            "erasure.witnessed",
            obj=row,
            contract=row.contract,
            detail={"witness": row.witness_name, "organisation": row.witness_org, "how": how},
        )
    return row


def confirm_by_sign_in(
    erasure: Erasure, *, username: str, password: str, token: str, ip: str, by
) -> Erasure:
    """Step 2 on one installation: the ward's staff member present signs in on this page
    (password and second factor, counted towards their lockout like any sign-in). The
    second factor and the witness are checked inside the password's transaction, so the
    sign-in's entries and the witness's stay or go together."""
    contract = erasure.contract
    _require_manager(by, contract)
    if erasure.state != Erasure.State.AWAITING_WITNESS:
        raise ErasureRefused(_("この消去の立会者はすでに確認されています。"), "bad_state")
    outcome: dict = {}

    def within(result) -> None:
        person = result.user
        if person is None:
            outcome["refusal"] = ("witness_sign_in", result.message)
            return
        if person.organisation_id != contract.ward_id or not has_role(person, WARD_WRITERS):
            outcome["refusal"] = (
                "witness_not_ward",
                _("立会者は委託者(%(ward)s)の職員でなければなりません。")
                % {"ward": contract.ward.name},
            )
            return
        device = accounts.confirmed_device(person)
        if device is None:
            outcome["refusal"] = (
                "witness_sign_in",
                _("この職員は二要素認証が設定されていません。"),
            )
            return
        second = accounts.verify_second_factor(person, device, token, ip=ip)
        if second.user is None:
            outcome["refusal"] = ("witness_sign_in", second.message)
            return
        outcome["erasure"] = _witnessed(
            erasure,
            name=str(person),
            org=contract.ward.name,
            how=Erasure.Witnessing.SIGN_IN,
            user=person,
        )

    accounts.check_password(None, username, password, ip=ip, within=within)
    if "refusal" in outcome:
        raise _refuse(*outcome["refusal"], contract)
    return outcome["erasure"]


def confirm_by_code(erasure: Erasure, *, witness_name: str, code: str, by) -> Erasure:
    """Step 2 across installations: the ward's staff member present reads out the
    one-time code their own Genchi showed for this erasure's challenge."""
    contract = erasure.contract
    _require_manager(by, contract)
    if not witness_name.strip():
        raise ErasureRefused(_("立会者の氏名を入力してください。"), "no_witness")
    expected = contract_keys.witness_code(contract, contract.contractor, erasure.challenge)
    if expected is None:
        raise _refuse(
            "no_witness_key",
            _("この契約の受け取り鍵がないため、ワンタイムコードを照合できません。"),
            contract,
        )
    typed = contract_keys.normalise_challenge(code)
    if not hmac.compare_digest(typed.encode(), expected.encode()):
        raise _refuse(
            "witness_code",
            _(
                "ワンタイムコードが一致しません。区の Genchi に照合番号 %(challenge)s を"
                "入力して表示されたコードを確かめてください。"
            )
            % {"challenge": erasure.challenge},
            contract,
        )
    return _witnessed(
        erasure, name=witness_name, org=contract.ward.name, how=Erasure.Witnessing.CODE
    )


def confirm_named(erasure: Erasure, *, witness_name: str) -> Erasure:
    """Step 2 at the command line: the operator records the witness's name
    (`genchi contract erase CODE --witness NAME`)."""
    if not witness_name.strip():
        raise ErasureRefused(_("立会者の氏名を入力してください。"), "no_witness")
    return _witnessed(
        erasure,
        name=witness_name,
        org=erasure.contract.ward.name,
        how=Erasure.Witnessing.NAMED,
    )


def issue_witness_code(contract: Contract, challenge: str, *, by) -> str:
    """The ward's side: the one-time code its staff member reads out at the contractor's
    erasure of `contract` (the challenge shown there, typed here). Logged."""
    if by is not None and (
        by.organisation_id != contract.ward_id or not has_role(by, WARD_WRITERS)
    ):
        raise _refuse("not_allowed", _("立会いコードを表示できるのは区の職員だけです。"), contract)
    typed = contract_keys.normalise_challenge(challenge)
    if len(typed) != 6:
        raise ErasureRefused(_("照合番号は受託者の画面に表示された6文字です。"), "bad_challenge")
    code = contract_keys.witness_code(contract, contract.ward, typed)
    if code is None:
        raise _refuse(
            "no_witness_key",
            _("この契約の受け取り鍵がないため、ワンタイムコードを作れません。"),
            contract,
        )
    record(
        "erasure.witness_code_issued",
        contract=contract,
        detail={"challenge": typed, "witness": str(by) if by else ""},
    )
    return code


# --- the erasure itself ---------------------------------------------------------------------

METHOD = "暗号学的消去(契約のデータ鍵と受け取り鍵を破棄)の後、データベースの行と保存ファイルを削除"


@transaction.atomic
def _erase_rows(erasure: Erasure, *, by) -> Erasure:
    """Step 3, all or nothing: keys first, then each app's rows; files once committed."""
    row = (
        Erasure.objects.select_for_update(of=("self",), no_key=True)
        .select_related("contract")
        .get(pk=erasure.pk)
    )
    if row.state != Erasure.State.WITNESSED:
        raise ErasureRefused(_("立会者の確認が済んでいません。"), "not_witnessed")
    contract = Contract.objects.select_related("ward", "contractor").get(pk=row.contract_id)
    contractor = contract.contractor
    record(
        "erasure.begun",
        obj=row,
        contract=contract,
        detail={"witness": row.witness_name, "how": row.witnessing},
    )
    recipient = contract_keys.recipient_key(contract, contractor)
    destroyed = contract_keys.erase_contract_keys(contract, contractor)
    counts: dict[str, int] = {}
    steps = (
        ("fieldwork", lambda: fieldwork_erasing.erase_contract(contract)),
        ("planner", lambda: planner_erasing.erase_contract(contract)),
        (
            "tablet",
            lambda: {
                "tablets_revoked": tablet_services.revoke_for_erasure(
                    contract, by=by, reason=_("契約の消去")
                )
            },
        ),
        ("transfer", lambda: transfer.erase_contract_files(contract, contractor)),
    )
    for app, step in steps:
        done = step()
        counts.update(done)
        record("erasure.deleted", obj=row, contract=contract, detail={"app": app, "counts": done})
    row.state = Erasure.State.ERASED
    row.erased_at = timezone.now()
    row.certificate = {
        "counts": counts,
        "destroyed_keys": destroyed,
        "recipient_key": recipient.encryption_fingerprint if recipient else "",
    }
    row.save(update_fields=["state", "erased_at", "certificate"])
    return row


def compact_database() -> tuple[str, str]:
    """Step 4a: (engine, what was done), in the certificate's words."""
    vendor = connection.vendor
    if vendor == "sqlite":
        if connection.in_atomic_block:
            # Inside a caller's transaction (the demo's step) VACUUM cannot run; the
            # settings' secure_delete has overwritten the deleted rows' pages already.
            return vendor, "SQLite: 削除した行のページを secure_delete で上書き(VACUUM は未実行)"
        with connection.cursor() as cursor:
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return vendor, "SQLite: VACUUM で削除済みページを上書き・圧縮"
    if vendor == "postgresql":
        return vendor, (
            "PostgreSQL: 行を削除。以前のバックアップに残る暗号文は、破棄した鍵がないため"
            "復号できません"
        )
    return vendor, _("行を削除")


def erase(erasure: Erasure, *, by) -> Erasure:
    """Steps 3 to 5 (see the module). Safe to call again after a failure part way."""
    _require_manager(by, erasure.contract)
    if erasure.state == Erasure.State.AWAITING_WITNESS:
        raise ErasureRefused(_("立会者の確認が済んでいません。"), "not_witnessed")
    if erasure.state == Erasure.State.WITNESSED:
        erasure = _erase_rows(erasure, by=by)
    if erasure.state == Erasure.State.ERASED:
        engine, compaction = compact_database()
        record(
            "erasure.compacted",
            obj=erasure,
            contract=erasure.contract,
            detail={"engine": engine},
        )
        old, new, _count = vault_keys.rotate_master_key()
        erasure = _certify(erasure, engine=engine, compaction=compaction, master=(old, new), by=by)
    return erasure


@transaction.atomic
def _certify(erasure: Erasure, *, engine: str, compaction: str, master, by) -> Erasure:
    """Step 5a: fix the certificate's content, with the log's head hash."""
    from .certificate import certificate_record

    row = Erasure.objects.select_for_update(of=("self",), no_key=True).get(pk=erasure.pk)
    if row.state != Erasure.State.ERASED:
        return row
    contract = Contract.objects.select_related("ward", "contractor").get(pk=row.contract_id)
    row.certified_at = timezone.now()
    count, head_hash = head()
    row.certificate = certificate_record(
        row,
        contract,
        engine=engine,
        compaction=compaction,
        master=master,
        tablets=tablet_selectors.wipe_state(contract),
        received=transfer_selectors.contract_packages(
            contract, contract.contractor, direction=INCOMING, kind="cases"
        ),
        returned=transfer_selectors.contract_packages(
            contract, contract.contractor, direction=OUTGOING, kind="results"
        ),
        erased_by=str(by) if by else "",
        method=METHOD,
        log=(count, head_hash),
    )
    row.state = Erasure.State.CERTIFIED
    row.save(update_fields=["certified_at", "certificate", "state"])
    record(
        "erasure.certified",
        obj=row,
        contract=contract,
        detail={"certificate_id": str(row.certificate_id), "log_head": head_hash},
    )
    return row


def write_certificate_package(
    erasure: Erasure, out_dir: str | os.PathLike[str], *, by, delivery: str = ""
) -> transfer.ExportResult:
    """Step 5b: the certificate as a signed package for the ward (kind `certificate`),
    with its handover slip. Written once; the package row is kept on the erasure."""
    if erasure.state != Erasure.State.CERTIFIED:
        raise ErasureRefused(_("証明書はまだ発行されていません。"), "not_certified")
    if erasure.package_id is not None:
        raise ErasureRefused(_("証明書パッケージはすでに書き出しています。"), "written")
    return transfer.send_item(
        "certificate",
        erasure.pk,
        Path(out_dir),
        by=by,
        delivery=delivery or FOLDER,
    )
