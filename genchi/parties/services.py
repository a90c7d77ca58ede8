"""Writes for organisations, contracts, designations and people. Each is logged in the
same transaction as its write, so a failed entry undoes the write."""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi import vault
from genchi.accounts.models import CONTRACTOR_ROLES, WARD_ROLES, Role, User
from genchi.audit.chain import record
from genchi.vault.keys import create_contract_key

from . import uploads
from .models import (
    SLIP_FIELDS,
    Contract,
    Designation,
    IdCard,
    Organisation,
    Pledge,
    StaffPhoto,
    TrainingRecord,
)
from .selectors import TRAINING_VALID_DAYS, latest_training, may_work_on

# Which organisation role a person needs for each contract role.
DESIGNATION_ROLE_FOR_USER_ROLE = {
    Role.MANAGER: {Designation.Role.MANAGER, Designation.Role.HANDLER},
    Role.HANDLER: {Designation.Role.HANDLER},
    Role.SURVEYOR: {Designation.Role.SURVEYOR},
}


@transaction.atomic
def create_organisation(*, code: str, name: str, kind: str, home_city: str = "") -> Organisation:
    org = Organisation.objects.create(code=code, name=name, kind=kind, home_city=home_city)
    record("organisation.created", obj=org, detail={"code": code, "kind": kind})
    return org


@transaction.atomic
def create_contract(
    *,
    code: str,
    title: str,
    ward: Organisation,
    contractor: Organisation,
    fiscal_year: int,
    starts_on: dt.date,
    ends_on: dt.date,
    max_cases: int = 500,
    status: str = Contract.Status.DRAFT,
    amount: int | None = None,
    **slip: str,
) -> Contract:
    if ward.kind != Organisation.Kind.WARD or contractor.kind != Organisation.Kind.CONTRACTOR:
        raise ValidationError("委託者には区、受託者には受託事業者を指定してください。")
    contract = Contract(
        code=code,
        title=title,
        ward=ward,
        contractor=contractor,
        fiscal_year=fiscal_year,
        starts_on=starts_on,
        ends_on=ends_on,
        max_cases=max_cases,
        status=status,
        amount=amount,
    )
    for field in SLIP_FIELDS:  # the contact slip's settings (連絡票), all optional
        if field in slip:
            setattr(contract, field, slip.pop(field))
    if slip:
        raise TypeError(f"unexpected contract fields: {', '.join(slip)}")
    contract.full_clean()
    contract.save()
    key = create_contract_key(contract)  # D1: the contract's own data key from day one
    record(
        "contract.created",
        obj=contract,
        contract=contract,
        detail={"data_key": str(key.id), "max_cases": max_cases},
    )
    return contract


@transaction.atomic
def update_contract(contract: Contract, **changes) -> Contract:
    # The form may already have applied the changes to the instance: compare with the stored row.
    stored = Contract.objects.get(pk=contract.pk)
    for party in ("ward", "contractor"):
        # Each side's data is under its own key of the contract (D1): the sides are fixed.
        if party in changes and changes[party] != getattr(stored, party):
            raise ValidationError(_("契約の当事者(委託者・受託者)は登録後に変更できません。"))
    before = {field: str(getattr(stored, field)) for field in changes}
    for field, value in changes.items():
        setattr(contract, field, value)
    contract.full_clean()
    contract.save()
    record(
        "contract.updated",
        obj=contract,
        contract=contract,
        detail={
            "before": before,
            "after": {field: str(value) for field, value in changes.items()},
        },
    )
    return contract


@transaction.atomic
def close_contract(contract: Contract, *, reason: str, detail: dict | None = None) -> Contract:
    """End a contract (終了): the ward's Genchi does it once the contractor's erasure
    certificate is verified (genchi.erasure). Closing twice is refused."""
    stored = Contract.objects.select_for_update(of=("self",), no_key=True).get(pk=contract.pk)
    if stored.status == Contract.Status.CLOSED:
        raise ValidationError(_("契約 %(code)s はすでに終了しています。") % {"code": stored.code})
    before = stored.status
    stored.status = Contract.Status.CLOSED
    stored.save(update_fields=["status"])
    contract.status = stored.status
    record(
        "contract.closed",
        obj=stored,
        contract=stored,
        detail={"before": before, "reason": reason, **(detail or {})},
    )
    return stored


@transaction.atomic
def designate(
    *,
    contract: Contract,
    person: User,
    role: str,
    starts_on: dt.date,
    by: User,
    reported_to_ward_on: dt.date | None = None,
) -> Designation:
    """Designate a contractor person on a contract (C-O1, S13)."""
    if person.organisation_id != contract.contractor_id:
        raise ValidationError("受託事業者に所属する人だけを指定できます。")
    if role not in DESIGNATION_ROLE_FOR_USER_ROLE.get(person.role, set()):
        raise ValidationError("この人の役割では、その担当には指定できません。")
    if by.role == Role.MANAGER and role == Designation.Role.MANAGER:
        raise PermissionDenied("取扱責任者の指定は区が記録します。")
    # S18, C-O1: only trained (within a year) and pledged people handle personal data.
    reasons = may_work_on(person, contract, on=max(starts_on, timezone.localdate()))
    if reasons:
        raise ValidationError([_("%(person)s は指定できません。") % {"person": person}, *reasons])
    designation = Designation.objects.create(
        contract=contract,
        person=person,
        role=role,
        starts_on=starts_on,
        reported_to_ward_on=reported_to_ward_on,
        by=by,
    )
    record(
        "designation.created",
        obj=designation,
        contract=contract,
        detail={"person": person.username, "role": role, "starts_on": starts_on.isoformat()},
    )
    return designation


@transaction.atomic
def end_designation(designation: Designation, *, by: User) -> Designation:
    """End a designation now: the person's next request on the contract is refused (access
    is decided per request from the designations in force, so no session keeps it)."""
    if designation.ended_at is not None:
        raise ValidationError("この指定はすでに解除されています。")
    designation.ended_at = timezone.now()
    designation.save(update_fields=["ended_at"])
    record(
        "designation.ended",
        obj=designation,
        contract=designation.contract,
        detail={
            "person": designation.person.username,
            "role": designation.role,
            "ended_at": designation.ended_at.isoformat(),
            "by": by.username,
        },
    )
    return designation


@transaction.atomic
def create_person(
    *,
    username: str,
    full_name: str,
    organisation: Organisation,
    role: str,
    password: str,
    must_change_password: bool = True,
) -> User:
    """A person with the initial password an administrator gave: it opens only the page
    where the person chooses their own (`must_change_password`). Only the demo and the
    tests, which play people who already did, pass False."""
    if (role in WARD_ROLES) != organisation.is_ward:
        raise ValidationError("役割と所属組織の種別が合いません。")
    person = User(
        username=username,
        full_name=full_name,
        organisation=organisation,
        role=role,
        must_change_password=must_change_password,
    )
    validate_password(password, person)
    person.set_password(password)
    person.full_clean()
    person.save()
    record("person.created", obj=person, detail={"username": username, "role": role})
    return person


@transaction.atomic
def update_person(person: User, *, role: str, full_name: str, is_active: bool) -> User:
    before = {"role": person.role, "is_active": person.is_active}
    person.role, person.full_name, person.is_active = role, full_name, is_active
    person.full_clean()
    person.save(update_fields=["role", "full_name", "is_active"])
    record(
        "person.updated",
        obj=person,
        detail={"before": before, "after": {"role": role, "is_active": is_active}},
    )
    return person


# --- Training, pledges, photos and ID cards of the contractor's people (S18, C-O3) -------


def _check_staff(person: User, by: User | None) -> None:
    """Only contractor people have these records, written by their own organisation's
    manager (or the installation itself: demo, command line)."""
    if person.role not in CONTRACTOR_ROLES or person.organisation_id is None:
        raise ValidationError(_("研修・誓約書・写真は受託事業者の利用者についてだけ記録します。"))
    if by is not None and (by.role != Role.MANAGER or by.organisation_id != person.organisation_id):
        raise PermissionDenied(_("自社の取扱責任者だけが記録できます。"))


@transaction.atomic
def record_training(
    person: User,
    *,
    trained_on: dt.date,
    course: str,
    taught_by: str,
    ordinance_read: bool,
    provisions_read: bool,
    by: User | None = None,
) -> TrainingRecord:
    _check_staff(person, by)
    if trained_on > timezone.localdate():
        raise ValidationError(_("受講日に未来の日付は指定できません。"))
    training = TrainingRecord(
        person=person,
        trained_on=trained_on,
        course=course.strip(),
        taught_by=taught_by.strip(),
        ordinance_read=ordinance_read,
        provisions_read=provisions_read,
        by=by,
    )
    training.full_clean()
    training.save()
    record(
        "staff.training_recorded",
        obj=training,
        detail={
            "person": person.username,
            "trained_on": trained_on.isoformat(),
            "course": training.course,
            "ordinance_read": ordinance_read,
            "provisions_read": provisions_read,
        },
    )
    return training


def _scan_context(pledge: Pledge) -> str:
    return f"parties:pledge-scan:{pledge.person_id}:{pledge.pk}"


def _photo_context(person_id: int) -> str:
    return f"parties:staff-photo:{person_id}"


@transaction.atomic
def record_pledge(
    person: User, *, signed_on: dt.date, scan=None, on_paper: bool = False, by: User | None = None
) -> Pledge:
    """A signed pledge: its scan (PDF/JPEG/PNG, checked by content, stored encrypted under
    the organisation's key) or a tick that the signed paper is filed."""
    _check_staff(person, by)
    if signed_on > timezone.localdate():
        raise ValidationError(_("誓約日に未来の日付は指定できません。"))
    if scan is None and not on_paper:
        raise ValidationError(
            _("誓約書のスキャンを添付するか、紙で保管していることをチェックしてください。")
        )
    data, kind = uploads.checked_scan(scan) if scan is not None else (b"", "")
    pledge = Pledge.objects.create(
        person=person, signed_on=signed_on, on_paper=on_paper, scan_type=kind, by=by
    )
    if data:
        scope = vault.organisation_scope(person.organisation_id)
        pledge.scan = vault.encrypt(scope, _scan_context(pledge), data)
        pledge.save(update_fields=["scan"])
    record(
        "staff.pledge_recorded",
        obj=pledge,
        detail={
            "person": person.username,
            "signed_on": signed_on.isoformat(),
            "scan": kind or None,
            "bytes": len(data),
            "on_paper": on_paper,
        },
    )
    return pledge


def pledge_scan(pledge: Pledge) -> bytes:
    """The decrypted scan (the caller logs the viewing)."""
    scope = vault.organisation_scope(pledge.person.organisation_id)
    return vault.decrypt(scope, _scan_context(pledge), bytes(pledge.scan))


@transaction.atomic
def set_photo(person: User, upload, *, by: User | None = None) -> StaffPhoto:
    """The photo printed on the person's ID card (JPEG/PNG by content, encrypted)."""
    _check_staff(person, by)
    data, kind = uploads.checked_photo(upload)
    sealed = vault.encrypt(
        vault.organisation_scope(person.organisation_id), _photo_context(person.pk), data
    )
    photo, _created = StaffPhoto.objects.update_or_create(
        person=person, defaults={"image": sealed, "image_type": kind, "by": by}
    )
    record("staff.photo_set", obj=person, detail={"person": person.username, "bytes": len(data)})
    return photo


def photo_bytes(person: User) -> bytes | None:
    photo = StaffPhoto.objects.filter(person=person).first()
    if photo is None:
        return None
    scope = vault.organisation_scope(person.organisation_id)
    return vault.decrypt(scope, _photo_context(person.pk), bytes(photo.image))


@transaction.atomic
def issue_id_card(designation: Designation, *, by: User | None = None) -> IdCard:
    """Issue a surveyor's ID card and letter of commission (C-O3). Valid until the contract
    ends or the person's training turns a year old, whichever comes first."""
    contract = designation.contract
    person = designation.person
    if by is not None and (by.role != Role.MANAGER or by.organisation_id != contract.contractor_id):
        raise PermissionDenied(_("自社の取扱責任者だけが発行できます。"))
    if designation.role != Designation.Role.SURVEYOR or designation.ended_at is not None:
        raise ValidationError(_("身分証明書は指定中の調査員にだけ発行できます。"))
    today = timezone.localdate()
    reasons = may_work_on(person, contract, on=today)
    if reasons:
        raise ValidationError([_("%(person)s には発行できません。") % {"person": person}, *reasons])

    training = latest_training(person, today)
    valid_until = min(
        contract.ends_on, training.trained_on + dt.timedelta(days=TRAINING_VALID_DAYS)
    )
    card = IdCard.objects.create(
        designation=designation,
        serial=secrets.token_hex(8),  # replaced below once the row has its number
        token=secrets.token_urlsafe(24),
        issued_on=today,
        valid_until=valid_until,
        by=by,
    )
    card.serial = f"G{contract.fiscal_year}-{card.pk:06d}"
    card.save(update_fields=["serial"])
    record(
        "staff.id_card_issued",
        obj=card,
        contract=contract,
        detail={
            "serial": card.serial,
            "person": person.username,
            "valid_until": valid_until.isoformat(),
        },
    )
    return card


@transaction.atomic
def revoke_id_card(card: IdCard, *, by: User | None = None) -> IdCard:
    contract = card.designation.contract
    if by is not None and (by.role != Role.MANAGER or by.organisation_id != contract.contractor_id):
        raise PermissionDenied(_("自社の取扱責任者だけが失効させられます。"))
    if card.revoked_at is not None:
        raise ValidationError(_("この証明書はすでに失効しています。"))
    card.revoked_at = timezone.now()
    card.save(update_fields=["revoked_at"])
    record("staff.id_card_revoked", obj=card, contract=contract, detail={"serial": card.serial})
    return card
