"""Reads about contracts and the people designated on them (services write; selectors read).

This is the one door to contracts and so to their personal data (D2): every query that
can reach personal data starts from `contracts_for`, scoped by the person's organisation,
role and designation. Views never build such querysets themselves.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.access.roles import CONTRACTOR_OFFICE, CONTRACTOR_ROLES, WARD_ROLES, has_role

from .models import Contract, Designation, IdCard, Organisation, Pledge, TrainingRecord


def active_designations(user) -> QuerySet[Designation]:
    """The designations in force at this moment (an ended one is over at once)."""
    return Designation.objects.filter(
        person=user, starts_on__lte=timezone.localdate(), ended_at__isnull=True
    )


def contracts_for(user) -> QuerySet[Contract]:
    """Contracts this person may see anything of."""
    if not user.is_authenticated or user.organisation_id is None or not user.role:
        return Contract.objects.none()
    if user.role in WARD_ROLES:
        return Contract.objects.filter(ward_id=user.organisation_id)
    if user.role in CONTRACTOR_ROLES:
        designated = active_designations(user).values("contract_id")
        return Contract.objects.filter(contractor_id=user.organisation_id, pk__in=designated)
    return Contract.objects.none()


def contract_for(user, code: str) -> Contract:
    """One contract by code, or PermissionDenied — the same answer whether it exists or not."""
    contract = contracts_for(user).filter(code=code).select_related("ward", "contractor").first()
    if contract is None:
        raise PermissionDenied(_("この契約を表示する権限がありません。"))
    return contract


OFFICE_DESIGNATIONS = frozenset({Designation.Role.MANAGER, Designation.Role.HANDLER})


def office_contracts_for(user) -> QuerySet[Contract]:
    """Contracts on which this person may do its side's office work: the ward's contracts
    for ward people; for a contractor person, those they are designated on as manager or
    handler *and* whose role is an office role. Access is the intersection of role and
    designation: a handler designated only as a surveyor does no office work on it."""
    if has_role(user, WARD_ROLES):
        return contracts_for(user)
    if not has_role(user, CONTRACTOR_OFFICE):
        return Contract.objects.none()
    designated = active_designations(user).filter(role__in=OFFICE_DESIGNATIONS)
    return Contract.objects.filter(
        contractor_id=user.organisation_id, pk__in=designated.values("contract_id")
    )


def does_office_work_on(user, contract: Contract) -> bool:
    """A contractor person may do office work on a contract (receive, read cases, send
    results) only while designated on it as manager or handler and holding an office role
    (C-O1, S13); an undesignated colleague of the same company may not."""
    if not has_role(user, CONTRACTOR_ROLES):
        return False
    return office_contracts_for(user).filter(pk=contract.pk).exists()


def contractors_of(ward: Organisation) -> QuerySet[Organisation]:
    """The contractors holding a contract with `ward` that is not closed."""
    open_contracts = Contract.objects.filter(ward=ward).exclude(status=Contract.Status.CLOSED)
    return Organisation.objects.filter(
        kind=Organisation.Kind.CONTRACTOR, pk__in=open_contracts.values("contractor")
    ).order_by("name")


# --- Who may work on a contract: training and pledge (S18, C-O1) ------------------------

TRAINING_VALID_DAYS = 365
"""Training older than a year no longer qualifies (S18: staff are trained every year)."""


def latest_training(person, on: dt.date | None = None) -> TrainingRecord | None:
    """The person's latest complete training (ordinance and provisions both read) by `on`."""
    on = on or timezone.localdate()
    return (
        TrainingRecord.objects.filter(
            person=person, trained_on__lte=on, ordinance_read=True, provisions_read=True
        )
        .order_by("-trained_on", "-id")
        .first()
    )


def latest_pledge(person, on: dt.date | None = None) -> Pledge | None:
    on = on or timezone.localdate()
    return (
        Pledge.objects.filter(person=person, signed_on__lte=on)
        .order_by("-signed_on", "-id")
        .first()
    )


def qualification_problems(person, on: dt.date | None = None) -> list[str]:
    """Why `person` may not handle personal data on `on` (empty when trained within a year
    and pledged). The reasons are Japanese sentences for the page."""
    on = on or timezone.localdate()
    return problems_of(latest_training(person, on), latest_pledge(person, on), on)


def problems_of(
    training: TrainingRecord | None, pledge: Pledge | None, on: dt.date | None = None
) -> list[str]:
    """The reasons of `qualification_problems`, from a person's latest complete training
    and latest pledge (for pages that read them for many people at once)."""
    on = on or timezone.localdate()
    reasons: list[str] = []
    if training is None or training.trained_on > on:
        reasons.append(_("個人情報保護の研修(条例と特記事項の周知を含む)の受講記録がありません。"))
    elif (on - training.trained_on).days > TRAINING_VALID_DAYS:
        reasons.append(
            _("最後の研修(%(day)s)から1年を超えています。研修を受け直してください。")
            % {"day": training.trained_on.isoformat()}
        )
    if pledge is None or pledge.signed_on > on:
        reasons.append(_("秘密保持の誓約書が登録されていません。"))
    return reasons


def may_work_on(person, contract: Contract, on: dt.date | None = None) -> list[str]:
    """The one gate for designating a person on a contract, assigning them cases and
    enrolling their tablet: the list of reasons they may not (empty: they may)."""
    reasons: list[str] = []
    if not person.is_active:
        reasons.append(_("この利用者は無効になっています。"))
    if person.organisation_id != contract.contractor_id:
        reasons.append(_("この契約の受託事業者に所属していません。"))
    return reasons + qualification_problems(person, on)


def is_designated_surveyor(person, contract: Contract) -> bool:
    return (
        active_designations(person)
        .filter(contract=contract, role=Designation.Role.SURVEYOR)
        .exists()
    )


def designated_surveyors(contract: Contract):
    """The people designated as surveyors on `contract` now (one query)."""
    from django.contrib.auth import get_user_model

    ids = Designation.objects.filter(
        contract=contract,
        role=Designation.Role.SURVEYOR,
        starts_on__lte=timezone.localdate(),
        ended_at__isnull=True,
    ).values("person_id")
    return get_user_model().objects.filter(pk__in=ids).order_by("username")


def surveyor_designation_dates(contract: Contract) -> dict[int, dt.date]:
    """Person id → the date their current surveyor designation on `contract` started."""
    dates: dict[int, dt.date] = {}
    for person_id, starts_on in Designation.objects.filter(
        contract=contract, role=Designation.Role.SURVEYOR, ended_at__isnull=True
    ).values_list("person_id", "starts_on"):
        dates[person_id] = min(starts_on, dates.get(person_id, starts_on))
    return dates


def roster(contract: Contract) -> list[dict]:
    """The designations of `contract` (manager, handlers, surveyors) with each person's
    latest training and pledge, for the roster page and PDF (取扱者名簿)."""
    order = {Designation.Role.MANAGER: 0, Designation.Role.HANDLER: 1, Designation.Role.SURVEYOR: 2}
    designations = sorted(
        contract.designations.select_related("person"),
        key=lambda d: (order.get(d.role, 9), d.starts_on, d.pk),
    )
    person_ids = {d.person_id for d in designations}
    trainings: dict[int, TrainingRecord] = {}
    for t in TrainingRecord.objects.filter(
        person_id__in=person_ids, ordinance_read=True, provisions_read=True
    ).order_by("person_id", "trained_on", "id"):
        trainings[t.person_id] = t  # the last one wins: the latest
    pledges: dict[int, Pledge] = {}
    for p in Pledge.objects.filter(person_id__in=person_ids).order_by(
        "person_id", "signed_on", "id"
    ):
        pledges[p.person_id] = p
    return [
        {
            "designation": d,
            "person": d.person,
            "training": trainings.get(d.person_id),
            "pledge": pledges.get(d.person_id),
        }
        for d in designations
    ]


def id_cards_for(user) -> QuerySet[IdCard]:
    """ID cards this person may see: their side's, of the contracts they may see."""
    return IdCard.objects.filter(designation__contract__in=contracts_for(user)).select_related(
        "designation__person", "designation__contract__ward", "designation__contract__contractor"
    )


def card_status(card: IdCard, on: dt.date | None = None) -> str:
    """ "valid", "expired" or "revoked" (revoked also once the designation has ended)."""
    on = on or timezone.localdate()
    if card.revoked_at is not None or card.designation.ended_at is not None:
        return "revoked"
    if on > card.valid_until or on < card.issued_on:
        return "expired"
    return "valid"


def card_by_token(user, token: str) -> IdCard | None:
    """The card a QR code names, among those this person may see (None: not found)."""
    return id_cards_for(user).filter(token=token).first()


def closure_of(contract: Contract) -> dict:
    """Where the contract stands at its end (status and its words), for the checklist's
    "erasure certified" evidence until the erasure app's record is read instead."""
    stored = Contract.objects.filter(pk=contract.pk).values("status").first() or {}
    status = stored.get("status", contract.status)
    return {
        "status": status,
        "label": Contract.Status(status).label,
        "closed": status == Contract.Status.CLOSED,
    }
