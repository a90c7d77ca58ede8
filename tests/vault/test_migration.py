"""Data encrypted before key scopes still decrypts after the migrations (and a rotation).

The rows are written as the code before scopes wrote them: AES-GCM without a version
byte, associated data "genchi-…", one key per contract shared by both sides.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import uuid
import zlib

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from genchi import vault
from genchi.audit.models import AuditEntry
from genchi.fieldwork.models import SurveyCase
from genchi.intake.models import Case, ImportRun
from genchi.intake.services import report_of
from genchi.package_format.keys import generate_organisation_keys
from genchi.parties.models import Contract, Organisation
from genchi.transfer import orgkeys
from genchi.transfer.models import OrganisationKeyPair
from genchi.vault import encryption, keys
from genchi.vault.master import new_master_key, write_master_key
from genchi.vault.models import DataKey

BEFORE = [
    ("vault", "0001_initial"),
    ("intake", "0002_import_runs"),
    ("transfer", "0002_package_without_batch_link"),
    ("fieldwork", "0001_initial"),
    # Before the contract's contact-slip columns (NOT NULL without a database default):
    # the historical Contract below would not fill them.
    ("parties", "0004_staff_training_pledges_cards"),
]
NAME = "髙橋 﨑太郎"
# The test commits, so its tables are emptied after it; the audit log refuses that (D3,
# TRUNCATE on PostgreSQL) and this test keeps no entry, so its app is left out.
APPS_BUT_THE_LOG = [app for app in settings.INSTALLED_APPS if app != "genchi.audit"]


def _old_encrypt(key: bytes, data: bytes, aad: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, data, aad.encode())


def _old_field(key_id: uuid.UUID, key: bytes, label: str, text: str) -> str:
    raw = key_id.bytes + _old_encrypt(key, text.encode(), f"genchi-field:{label}")
    return "g1:" + base64.urlsafe_b64encode(raw).decode("ascii")


class OldWorld:
    """Rows of an installation made before scopes, through the historical models."""

    def __init__(self, apps, master) -> None:
        self.apps, self.master = apps, master
        model = apps.get_model
        self.ward = model("parties", "Organisation").objects.create(
            code="w", name="区", kind="ward"
        )
        self.contractor = model("parties", "Organisation").objects.create(
            code="c", name="受託者", kind="contractor"
        )

    def contract(self, code: str):
        contract = self.apps.get_model("parties", "Contract").objects.create(
            code=code,
            title=code,
            ward=self.ward,
            contractor=self.contractor,
            fiscal_year=2026,
            starts_on=dt.date(2026, 6, 1),
            ends_on=dt.date(2027, 3, 31),
        )
        key_id, key = uuid.uuid4(), os.urandom(32)
        self.apps.get_model("vault", "ContractKey").objects.create(
            id=key_id,
            contract=contract,
            wrapped_key=_old_encrypt(
                self.master.key, key, f"genchi-contract-key:{contract.pk}:{key_id}"
            ),
            master_key_id=self.master.key_id,
        )
        return contract, key_id, key

    def case(self, contract, key_id, key):
        case = self.apps.get_model("intake", "Case").objects.create(
            contract=contract, identity_key="k1"
        )
        with connection.cursor() as cur:  # raw: the historical field would encrypt again
            cur.execute(
                "UPDATE intake_case SET name = %s WHERE id = %s",
                [_old_field(key_id, key, "intake.case.name", NAME), case.pk],
            )
        return case

    def survey_case(self, contract, key_id, key):
        package = self.apps.get_model("transfer", "Package").objects.create(
            holder=self.contractor,
            direction="in",
            kind="cases",
            contract=contract,
            sender=self.ward,
            recipient=self.contractor,
            record_count=1,
            size=1,
            filename="p.genchi.age",
            manifest_created_at="2026-06-01T00:00:00Z",
            signing_fingerprint="-",
        )
        row = self.apps.get_model("fieldwork", "SurveyCase").objects.create(
            contract=contract, case_ref=uuid.uuid4().hex[:16], received_in=package
        )
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE fieldwork_surveycase SET name = %s WHERE id = %s",
                [_old_field(key_id, key, "fieldwork.surveycase.name", NAME), row.pk],
            )
        return row

    def import_run(self, contract, key_id, key):
        run = self.apps.get_model("intake", "ImportRun").objects.create(contract=contract)
        report = zlib.compress(json.dumps({"issues": [NAME]}).encode(), 3)
        run.report = key_id.bytes + _old_encrypt(key, report, f"genchi-intake:report:{run.pk}")
        run.save()
        return run

    def key_pair(self, organisation):
        generated = generate_organisation_keys(organisation.code, organisation.name)
        card = generated.public_card()
        secret = _old_encrypt(
            self.master.key, generated.to_bytes(), f"genchi-org-keys:{organisation.code}"
        )
        return self.apps.get_model("transfer", "OrganisationKeyPair").objects.create(
            organisation=organisation,
            age_recipient=card.age_recipient,
            signing_public_key=base64.b64encode(card.signing_public_key).decode("ascii"),
            encryption_fingerprint=card.encryption_fingerprint,
            signing_fingerprint=card.signing_fingerprint,
            secret_blob=secret,
            master_key_id=self.master.key_id,
            card_json=card.to_bytes().decode("utf-8"),
        )


@pytest.mark.django_db(transaction=True, available_apps=APPS_BUT_THE_LOG)
def test_data_from_before_scopes_reads_after_the_migrations_and_a_rotation():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    master = new_master_key()
    write_master_key(master)
    try:
        old = OldWorld(executor.loader.project_state(BEFORE).apps, master)
        shared, shared_key_id, shared_key = old.contract("shared")  # both sides hosted here
        case = old.case(shared, shared_key_id, shared_key)
        survey = old.survey_case(shared, shared_key_id, shared_key)
        run = old.import_run(shared, shared_key_id, shared_key)
        received, received_key_id, received_key = old.contract("received")  # contractor's only
        received_survey = old.survey_case(received, received_key_id, received_key)
        old.key_pair(old.ward)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    keys.clear_cache()

    ward = Organisation.objects.get(code="w")
    contractor = Organisation.objects.get(code="c")
    # Keys become the ward's, unless only the contractor's data of the contract is here.
    assert DataKey.objects.get(pk=shared_key_id).organisation == ward
    assert DataKey.objects.get(pk=received_key_id).organisation == contractor

    def everything_reads() -> None:
        assert Case.objects.get(pk=case.pk).name == NAME
        assert SurveyCase.objects.get(pk=survey.pk).name == NAME  # the shared key, legacy
        assert SurveyCase.objects.get(pk=received_survey.pk).name == NAME
        assert report_of(ImportRun.objects.get(pk=run.pk)) == {"issues": [NAME]}
        assert orgkeys.secret_keys(ward).org_code == "w"

    everything_reads()
    # New data of the shared contract: the ward's under the old key, the contractor's
    # under a key of its own.
    contract = Contract.objects.get(code="shared")
    assert keys.current_key(vault.contract_scope(contract.pk, "ward"))[0] == shared_key_id
    assert keys.current_key(vault.contract_scope(contract.pk, "contractor"))[0] != shared_key_id

    # The rotation writes a log entry, which the flush after this test would keep: it
    # runs in a transaction rolled back at the end, marked as the test's own (as Django's
    # TestCase marks its transactions) so that the rotation's durable block may nest in it.
    rolled_back = transaction.atomic()
    rolled_back._from_testcase = True
    with rolled_back:
        vault.rotate_master_key()
        keys.clear_cache()
        everything_reads()
        for row in DataKey.objects.all():  # rotation writes the versioned format
            assert bytes(row.wrapped_key)[0] == encryption.WRAPPED_V1
        assert bytes(OrganisationKeyPair.objects.get().secret_blob)[0] == encryption.WRAPPED_V1
        transaction.set_rollback(True)
    assert not AuditEntry.objects.exists()
