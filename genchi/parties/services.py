"""Writes for organisations, contracts, designations and people. Each is logged in the
same transaction as its write, so a failed entry undoes the write."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.accounts.models import WARD_ROLES, Role, User
from genchi.audit.chain import record
from genchi.vault.keys import create_contract_key

from .models import Contract, Designation, Organisation

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
    )
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
