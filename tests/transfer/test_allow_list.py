"""J3 allow-list: nothing but postal code, address, building line and name (+ the opaque
case reference) can reach a package. Every other Case field — including any field added
later — is filled with a sentinel and the decrypted package is searched for it."""

from __future__ import annotations

import datetime as dt
import uuid

import pyrage
import pytest
from django.db import models
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.intake import package_handlers
from genchi.intake.models import Batch, BatchItem, Case
from genchi.package_format.records import CASE_KEYS
from genchi.transfer import contract_keys, services
from genchi.vault.fields import EncryptedTextField

J3 = ("postal_code", "address", "building_line", "name")


def test_allow_list_is_exactly_j3():
    assert package_handlers.CASE_ALLOW_LIST == J3
    assert {*J3, "case_ref"} == CASE_KEYS


def _sentinel_case(contract) -> tuple[Case, dict[str, str]]:
    case = Case(contract=contract)
    sentinels: dict[str, str] = {}
    for field in Case._meta.concrete_fields:
        if field.primary_key or field.is_relation:
            continue
        name = field.name
        if name in J3:
            setattr(case, name, f"ALLOWED-{name}-値")
            continue
        if name == package_handlers.CASE_REF_FIELD:
            setattr(case, name, uuid.uuid4().hex[:16])
            continue
        if isinstance(field, EncryptedTextField | models.CharField | models.TextField):
            value = f"LEAK{len(sentinels):02d}{name}"[: field.max_length or 200]
            if field.choices:
                value = field.choices[-1][0]
                sentinels[name] = ""  # choice values are checked via status below
                setattr(case, name, value)
                continue
            setattr(case, name, value)
            sentinels[name] = value
        elif isinstance(field, models.DateTimeField):
            setattr(case, name, timezone.make_aware(dt.datetime(1999, 12, 31, 23, 58, 57)))
            sentinels[name] = "1999-12-31"
        elif isinstance(field, models.DateField):
            setattr(case, name, dt.date(1999, 12, 31))
            sentinels[name] = "1999-12-31"
        elif isinstance(field, models.IntegerField):
            setattr(case, name, 31337)
            sentinels[name] = "31337"
        elif isinstance(field, models.FloatField | models.DecimalField):
            setattr(case, name, 31337.25)
            sentinels[name] = "31337.25"
        elif isinstance(field, models.BooleanField):
            continue  # cannot carry a recognisable value
        else:
            pytest.fail(f"Case.{name}: add a sentinel for {type(field).__name__}")
    case.save()
    return case, {k: v for k, v in sentinels.items() if v}


@pytest.mark.django_db
def test_no_other_case_field_reaches_the_package(people, contract, keys_exchanged, tmp_path):
    case, sentinels = _sentinel_case(contract)
    assert sentinels, "the sentinel walk found no fields"
    batch = Batch.objects.create(
        contract=contract, number=1, status=Batch.Status.SEALED, sealed_at=timezone.now()
    )
    BatchItem.objects.create(batch=batch, case=case, position=1)
    out = tmp_path / "stick"
    out.mkdir()
    result = services.export_batch(batch, out, by=people[Role.WARD_STAFF])
    # The package is encrypted to the contractor's recipient key of this contract.
    identity = contract_keys.identities_for(contract, contract.contractor)[0]
    plain = pyrage.decrypt(
        result.path.read_bytes(), [pyrage.x25519.Identity.from_str(identity)]
    ).decode("utf-8", errors="replace")
    for name in J3:
        assert f"ALLOWED-{name}-値" in plain
    assert case.ref in plain
    leaked = {name: value for name, value in sentinels.items() if value in plain}
    assert not leaked, f"fields outside the J3 allow-list reached the package: {leaked}"
    # The record holds exactly the allow-listed keys.
    assert set(package_handlers.case_record(case)) == CASE_KEYS
