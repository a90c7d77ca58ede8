"""A database of its own for migration tests: a fresh SQLite file, migrated to any state.

The test database cannot go back in history inside a test's transaction (SQLite refuses
schema changes there), so these tests migrate a scratch file instead. What they prove is
that a migration keeps the rows' values; both engines run the same operations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.utils import ConnectionHandler

ALIAS = "scratch_migrations"


@contextmanager
def database(path: Path) -> Iterator[str]:
    """A database alias backed by a new SQLite file at `path`, for the duration."""
    scratch = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}
    filled = ConnectionHandler().configure_settings({"default": scratch})["default"]
    connections.settings[ALIAS] = filled
    try:
        yield ALIAS
    finally:
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]


def migrate(alias: str, targets: list[tuple[str, str]]):
    """Migrate the scratch database to `targets` ([(app, migration)], None for zero);
    returns the historical apps of that state."""
    executor = MigrationExecutor(connections[alias])
    state = executor.migrate(targets)
    return state.apps


def migrate_to_latest(alias: str) -> None:
    executor = MigrationExecutor(connections[alias])
    executor.migrate(executor.loader.graph.leaf_nodes())


# Before this renames: Designation.designated_by, Batch/ImportRun/MappingPreset
# .created_by, OrganisationKeyPair.created_by, PartnerKeyCard.imported_by, Package.sha256,
# HandoverSlip.sha256 and .issued_by, UsbStick.registered_by, StickLoan.lent_by.
BEFORE_RENAMES = [
    ("parties", "0001_initial"),
    ("intake", "0004_import_run_job"),
    ("transfer", "0004_handover_job"),
]


def a_contract(historical_apps, alias: str, *, username: str):
    """A person, a ward, a contractor and a contract between them, written through the
    historical models of a migration state; returns (objects, person, ward, firm, contract)
    where `objects(label)` is that model's manager on the scratch database."""
    objects = lambda label: historical_apps.get_model(label).objects.using(alias)  # noqa: E731
    person = objects("accounts.User").create(username=username, password="!")
    ward = objects("parties.Organisation").create(code="w", name="区", kind="ward")
    firm = objects("parties.Organisation").create(code="c", name="社", kind="contractor")
    day = dt.date(2026, 6, 1)
    contract = objects("parties.Contract").create(
        code="c2026", title="t", ward=ward, contractor=firm, fiscal_year=2026,
        starts_on=day, ends_on=day,
    )  # fmt: skip
    return objects, person, ward, firm, contract


def rows_before_renames(alias: str) -> dict:
    """Migrate to BEFORE_RENAMES and write one row of each renamed model through the
    historical models: their ids by table, the author's id, the digest of the package."""
    old = migrate(alias, BEFORE_RENAMES)
    objects, person, ward, firm, contract = a_contract(old, alias, username="w-staff")
    day = contract.starts_on
    digest = "d" * 64
    key = {"age_recipient": "age1", "signing_public_key": "s", "encryption_fingerprint": "e",
           "signing_fingerprint": "f", "card_json": "{}"}  # fmt: skip
    stick = objects("transfer.UsbStick").create(
        owner=ward, label="USB-1", serial="S", capacity_gb=8, registered_by=person
    )
    package = objects("transfer.Package").create(
        holder=ward, direction="out", kind="cases", contract=contract, sender=ward,
        recipient=firm, record_count=1, sha256=digest, size=1, filename="p",
        manifest_created_at="", signing_fingerprint="f", by=person,
    )  # fmt: skip
    made = {
        "parties_designation": objects("parties.Designation").create(
            contract=contract, person=person, role="handler", starts_on=day, designated_by=person
        ),
        "intake_batch": objects("intake.Batch").create(
            contract=contract, number=1, created_by=person
        ),
        "intake_importrun": objects("intake.ImportRun").create(
            contract=contract, created_by=person
        ),
        "intake_mappingpreset": objects("intake.MappingPreset").create(
            organisation=ward, name="n", created_by=person
        ),
        "transfer_organisationkeypair": objects("transfer.OrganisationKeyPair").create(
            organisation=ward, secret_blob=b"x", master_key_id="m", created_by=person, **key
        ),
        "transfer_partnerkeycard": objects("transfer.PartnerKeyCard").create(
            holder=ward, subject=firm, org_name="社", imported_by=person, **key
        ),
        "transfer_usbstick": stick,
        "transfer_package": package,
        "transfer_handoverslip": objects("transfer.HandoverSlip").create(
            package=package,
            holder=ward,
            number="S-2026-0001",
            contract=contract,
            direction="w2c",
            giver_org="区",
            giver_name="g",
            receiver_org="社",
            content="c",
            record_count=1,
            package_uuid=package.package_id,
            sha256=digest,
            log_count=0,
            log_head="0" * 64,
            issued_by=person,
        ),  # fmt: skip
        "transfer_stickloan": objects("transfer.StickLoan").create(
            stick=stick, borrower_name="b", due_on=day, lent_by=person
        ),
    }
    return {"ids": {table: row.pk for table, row in made.items()}, "person": person.pk,
            "digest": digest}  # fmt: skip


def column(alias: str, table: str, name: str, row_id: int):
    with connections[alias].cursor() as cur:
        cur.execute(f"SELECT {name} FROM {table} WHERE id = %s", [row_id])  # noqa: S608
        return cur.fetchone()[0]
