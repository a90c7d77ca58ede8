"""The demo's parties: a ward, a contractor, one contract and people with second factors.

Registered as the first demo step (genchi.core.demo) in PartiesConfig.ready; the other
apps' steps build on the names below.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from genchi.accounts.models import Role, TOTPDevice, User

from . import services
from .models import Contract, Designation, Organisation

DEMO_PASSWORD = "genchi-demo-2026"  # noqa: S105 - printed for the demo on purpose
WARD_CODE = "shinjuku-tax"
CONTRACTOR_CODE = "kanto-servicer"
CONTRACT_CODE = "shinjuku-2026-kyojuu"

# (username, full name, organisation code, role, contract designation)
DEMO_PEOPLE: list[tuple[str, str, str, str, str | None]] = [
    ("ward-admin", "新宿 太郎", WARD_CODE, Role.WARD_ADMIN, None),
    ("ward-staff", "戸山 花子", WARD_CODE, Role.WARD_STAFF, None),
    ("ward-auditor", "大久保 次郎", WARD_CODE, Role.WARD_AUDITOR, None),
    ("manager", "高田 誠", CONTRACTOR_CODE, Role.MANAGER, Designation.Role.MANAGER),
    ("handler", "落合 恵", CONTRACTOR_CODE, Role.HANDLER, Designation.Role.HANDLER),
    ("surveyor1", "早稲田 健", CONTRACTOR_CODE, Role.SURVEYOR, Designation.Role.SURVEYOR),
    ("surveyor2", "四谷 由美", CONTRACTOR_CODE, Role.SURVEYOR, Designation.Role.SURVEYOR),
]


def create_demo_parties() -> None:
    ward = services.create_organisation(
        code=WARD_CODE, name="新宿区 税務課", kind=Organisation.Kind.WARD, home_city="東京都新宿区"
    )
    contractor = services.create_organisation(
        code=CONTRACTOR_CODE, name="関東サービサー株式会社", kind=Organisation.Kind.CONTRACTOR
    )
    today = timezone.localdate()
    contract = services.create_contract(
        code=CONTRACT_CODE,
        title="令和8年度 転出滞納者居住実態調査業務委託",
        ward=ward,
        contractor=contractor,
        fiscal_year=2026,
        starts_on=today - dt.timedelta(days=7),
        ends_on=today + dt.timedelta(days=90),
        max_cases=500,
        status=Contract.Status.ACTIVE,
        # The contact slip's settings (a made-up number): the demo's slips print.
        contact_department="新宿区役所 区民相談係",
        contact_phone="03-1234-5678",
        contact_hours="平日 8時30分〜17時15分",
    )
    admin = None
    for username, full_name, org_code, role, designation in DEMO_PEOPLE:
        person = services.create_person(
            username=username,
            full_name=full_name,
            organisation=ward if org_code == WARD_CODE else contractor,
            role=role,
            password=DEMO_PASSWORD,
            # Demo people play people who already chose their password (the demo prints it).
            must_change_password=False,
        )
        # Demo people start with a second factor, so `genchi demo-otp` can sign them in.
        TOTPDevice.objects.create(user=person, name="Genchi (demo)", confirmed=True)
        admin = admin or person
        if role in (Role.MANAGER, Role.HANDLER, Role.SURVEYOR):
            _qualify(person, today)
        if designation:
            made = services.designate(
                contract=contract,
                person=person,
                role=designation,
                starts_on=contract.starts_on,
                by=admin,
                reported_to_ward_on=contract.starts_on,
            )
            if designation == Designation.Role.SURVEYOR:
                services.issue_id_card(made)  # C-O3: surveyors carry ID


def _qualify(person: User, today: dt.date) -> None:
    """Contractor people are trained and pledged before they are designated (S18)."""
    trained_on = today - dt.timedelta(days=20)
    services.record_training(
        person,
        trained_on=trained_on,
        course="個人情報保護・情報セキュリティ研修(令和8年度)",
        taught_by="高田 誠(取扱責任者)",
        ordinance_read=True,
        provisions_read=True,
    )
    services.record_pledge(person, signed_on=trained_on, on_paper=True)


def demo_is_prepared() -> bool:
    return User.objects.filter(username=DEMO_PEOPLE[0][0]).exists()
