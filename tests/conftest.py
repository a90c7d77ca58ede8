"""Shared fixtures: a ward, a contractor, a contract and one signed-in person per role."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp

from genchi.accounts.models import CONTRACTOR_ROLES, Role, TOTPDevice
from genchi.parties import services
from genchi.parties.models import Contract, Designation, Organisation
from genchi.vault import keys

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _isolated_data(settings, tmp_path):
    """Each test gets its own key, files and audit anchor folders; key caches start empty."""
    settings.GENCHI_KEY_DIR = tmp_path / "keys"
    settings.GENCHI_FILES_DIR = tmp_path / "files"
    settings.GENCHI_AUDIT_DIR = tmp_path / "audit"
    keys.clear_cache()
    yield
    keys.clear_cache()


@pytest.fixture
def ward(db) -> Organisation:
    return services.create_organisation(
        code="shinjuku-tax",
        name="新宿区 税務課",
        kind=Organisation.Kind.WARD,
        home_city="東京都新宿区",
    )


@pytest.fixture
def contractor(db) -> Organisation:
    return services.create_organisation(
        code="servicer", name="テストサービサー株式会社", kind=Organisation.Kind.CONTRACTOR
    )


@pytest.fixture
def contract(ward, contractor) -> Contract:
    return services.create_contract(
        code="c2026",
        title="令和8年度 居住実態調査",
        ward=ward,
        contractor=contractor,
        fiscal_year=2026,
        starts_on=dt.date(2026, 6, 1),
        ends_on=dt.date(2027, 3, 31),
        status=Contract.Status.ACTIVE,
    )


def make_person(
    username: str,
    org: Organisation,
    role: str,
    *,
    device: bool = True,
    own_password: bool = True,
    qualified: bool = True,
):
    """A person; by default one who already chose PASSWORD as their own password. A
    contractor person is by default `qualified`: trained a month ago and pledged, so that
    they may be designated (S18)."""
    person = services.create_person(
        username=username,
        full_name=username,
        organisation=org,
        role=role,
        password=PASSWORD,
        must_change_password=not own_password,
    )
    if device:
        TOTPDevice.objects.create(user=person, name="test", confirmed=True)
    if qualified and role in CONTRACTOR_ROLES:
        qualify(person)
    return person


def qualify(person, *, trained_on: dt.date | None = None) -> None:
    """Give a contractor person a complete training and a pledge on paper (S18)."""
    day = trained_on or timezone.localdate() - dt.timedelta(days=30)
    services.record_training(
        person,
        trained_on=day,
        course="個人情報保護研修",
        taught_by="研修講師",
        ordinance_read=True,
        provisions_read=True,
    )
    services.record_pledge(person, signed_on=day, on_paper=True)


def current_code(person) -> str:
    device = TOTPDevice.objects.get(user=person, confirmed=True)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


ROLE_USERNAMES = {
    Role.WARD_ADMIN: "w-admin",
    Role.WARD_STAFF: "w-staff",
    Role.WARD_AUDITOR: "w-auditor",
    Role.MANAGER: "c-manager",
    Role.HANDLER: "c-handler",
    Role.SURVEYOR: "c-surveyor",
}
DESIGNATION_FOR = {
    Role.MANAGER: Designation.Role.MANAGER,
    Role.HANDLER: Designation.Role.HANDLER,
    Role.SURVEYOR: Designation.Role.SURVEYOR,
}


@pytest.fixture
def people(ward, contractor, contract) -> dict:
    """One person per role; contractor people are designated on the contract."""
    made = {}
    for role, username in ROLE_USERNAMES.items():
        org = ward if role in (Role.WARD_ADMIN, Role.WARD_STAFF, Role.WARD_AUDITOR) else contractor
        made[role] = make_person(username, org, role)
    for role, designation in DESIGNATION_FOR.items():
        services.designate(
            contract=contract,
            person=made[role],
            role=designation,
            starts_on=contract.starts_on,
            by=made[Role.WARD_ADMIN],
        )
    return made


def signed_in_client(person) -> Client:
    """A client that went through password and second factor like a person would."""
    client = Client()
    response = client.post("/signin/", {"username": person.username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    response = client.post("/signin/second-factor/", {"code": current_code(person)})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


@pytest.fixture
def client_for(people):
    cache: dict = {}

    def get(role) -> Client:
        if role not in cache:
            cache[role] = signed_in_client(people[role])
        return cache[role]

    return get


@pytest.fixture
def _audit_log_flushable(django_db_setup, django_db_blocker):
    """A transactional test ends by emptying every table; the audit log's append-only
    triggers (audit migration 0002) are lifted around it and put back afterwards."""
    triggers = importlib.import_module("genchi.audit.migrations.0002_append_only_triggers")
    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        triggers.uninstall(None, editor)
    yield
    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        triggers.install(None, editor)


@pytest.fixture
def own_file_store(settings, tmp_path):
    """The `genchi_files` storage in a folder of this test's own (the session's is shared
    by every test), for tests that count the files in it."""
    location = tmp_path / "own-files"
    settings.STORAGES = {
        **settings.STORAGES,
        "genchi_files": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": location},
        },
    }
    return location
