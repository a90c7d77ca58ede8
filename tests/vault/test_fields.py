"""D1: model fields keep personal data encrypted at rest under their side's contract key."""

import base64
import os
import subprocess
import sys

import pytest
from django.core import checks
from django.db import connection

from genchi.intake.models import Case
from genchi.vault import DecryptionFailed, contract_scope, encrypt
from genchi.vault.fields import EncryptedTextField, decrypt_row_text

pytestmark = pytest.mark.django_db

NAME = "髙橋 﨑太郎"
ADDRESS = "大阪府大阪市北区梅田一丁目1番3号"


def _case(contract, **extra) -> Case:
    fields = {"name": NAME, "address": ADDRESS, "identity_key": "k1", **extra}
    return Case.objects.create(contract=contract, **fields)


def _raw_row(case) -> dict:
    with connection.cursor() as cur:
        cur.execute("SELECT name, address FROM intake_case WHERE id = %s", [case.pk])
        name, address = cur.fetchone()
    return {"name": name, "address": address}


def _set_raw(case, **columns) -> None:
    with connection.cursor() as cur:
        for column, value in columns.items():
            cur.execute(f"UPDATE intake_case SET {column} = %s WHERE id = %s", [value, case.pk])  # noqa: S608


def test_values_round_trip_and_are_ciphertext_in_the_table(contract):
    case = _case(contract, building_line="梅田ハイツ101号室")
    raw = _raw_row(case)
    assert raw["name"].startswith("g3:") and NAME not in raw["name"]
    again = Case.objects.get(pk=case.pk)
    assert (again.name, again.address, again.building_line) == (NAME, ADDRESS, "梅田ハイツ101号室")


def test_values_are_under_the_wards_key_of_the_contract(contract):
    raw = _raw_row(_case(contract))
    blob = base64.urlsafe_b64decode(raw["name"][3:])
    from genchi.vault import keys

    ward_key_id, _ = keys.current_key(contract_scope(contract.pk, "ward"))
    assert blob[1:17] == ward_key_id.bytes


STORE_SCRIPT = """
import datetime as dt, django
django.setup()
from genchi.intake.models import Case
from genchi.parties import services
ward = services.create_organisation(code="w", name="w", kind="ward")
contractor = services.create_organisation(code="c", name="c", kind="contractor")
contract = services.create_contract(code="k", title="k", ward=ward, contractor=contractor,
    fiscal_year=2026, starts_on=dt.date(2026, 6, 1), ends_on=dt.date(2026, 10, 31))
Case.objects.create(contract=contract, name=%r, address=%r, identity_key="k1")
print(Case.objects.get().name)
"""


def test_raw_database_file_holds_no_plaintext(tmp_path):
    """A real installation on disk: the SQLite file and its WAL never hold the plaintext."""
    env = {
        **os.environ,
        "GENCHI_DATA_DIR": str(tmp_path / "inst"),
        "DJANGO_SETTINGS_MODULE": "genchi.settings",
    }
    env.pop("DATABASE_URL", None)
    migrate = subprocess.run(
        [sys.executable, "-m", "genchi", "migrate"], env=env, capture_output=True
    )
    assert migrate.returncode == 0, migrate.stderr
    stored = subprocess.run(
        [sys.executable, "-c", STORE_SCRIPT % (NAME, ADDRESS)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout.strip() == NAME  # it was stored and reads back
    raw = b"".join(p.read_bytes() for p in (tmp_path / "inst").glob("genchi.sqlite3*"))
    assert b"g3:" in raw
    for secret in (NAME, ADDRESS, "梅田", "髙橋"):
        assert secret.encode("utf-8") not in raw, secret


def test_postgres_table_holds_no_plaintext(contract):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    _case(contract)
    with connection.cursor() as cur:
        cur.execute("SELECT intake_case::text FROM intake_case")
        rows = " ".join(r[0] for r in cur.fetchall())
    assert "g3:" in rows and NAME not in rows and "梅田" not in rows


def test_ciphertext_is_bound_to_its_column(contract):
    case = _case(contract)
    raw = _raw_row(case)
    with pytest.raises(DecryptionFailed):
        decrypt_row_text(
            contract_scope(contract.pk, "ward"),
            f"field:intake.case.address#{case.ref}",
            raw["name"],
        )
    _set_raw(case, address=raw["name"])  # a name copied into the address column
    with pytest.raises(DecryptionFailed):
        Case.objects.get(pk=case.pk).address  # noqa: B018


def test_a_value_of_the_other_side_does_not_read_in_this_column(contract):
    """The contractor's ciphertext of the same column name, put into the ward's table."""
    case = _case(contract)
    contractor_scope = contract_scope(contract.pk, "contractor")
    foreign = "g3:" + base64.urlsafe_b64encode(
        encrypt(contractor_scope, f"field:intake.case.name#{case.ref}", NAME.encode())
    ).decode("ascii")
    _set_raw(case, name=foreign)
    with pytest.raises(DecryptionFailed):
        Case.objects.get(pk=case.pk).name  # noqa: B018


def test_plaintext_cannot_sneak_in_through_update_or_lookups(contract):
    case = _case(contract)
    with pytest.raises(ValueError):
        Case.objects.filter(pk=case.pk).update(name="平文")
    with pytest.raises(ValueError):
        list(Case.objects.filter(name=NAME))


def test_plaintext_in_the_table_is_refused_on_read(contract):
    case = _case(contract)
    _set_raw(case, name=NAME)
    with pytest.raises(DecryptionFailed):
        Case.objects.get(pk=case.pk).name  # noqa: B018


def test_a_field_must_say_which_side_holds_its_data():
    field = EncryptedTextField(row_field="ref")
    field.set_attributes_from_name("secret")
    errors = field.check()
    assert [e.id for e in errors] == ["genchi_vault.E001"]
    assert all(isinstance(e, checks.Error) for e in errors)
    unbound = EncryptedTextField(holder="ward")
    unbound.set_attributes_from_name("secret")
    assert [e.id for e in unbound.check()] == ["genchi_vault.E002"]
    held = EncryptedTextField(holder="contractor", row_field="ref")
    held.set_attributes_from_name("secret")
    assert held.check() == []


def test_the_side_is_no_database_change():
    """Declaring the holder alters no column (its migrations are free on big tables)."""
    a, b = EncryptedTextField(holder="ward"), EncryptedTextField(holder="contractor")
    a.set_attributes_from_name("x")
    b.set_attributes_from_name("x")
    assert connection.schema_editor()._field_should_be_altered(a, b) is False


def _copy_raw(source, target, column: str) -> None:
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM intake_case WHERE id = %s", [source.pk])  # noqa: S608
        (value,) = cur.fetchone()
    _set_raw(target, **{column: value})


def test_a_value_copied_to_another_row_is_refused_and_logged(contract, caplog):
    """Same column, same contract, same side: only the row differs, and that is enough."""
    first = _case(contract)
    second = _case(contract, name="別人 花子", identity_key="k2")
    _copy_raw(first, second, "name")
    moved = Case.objects.get(pk=second.pk)
    assert moved.address == ADDRESS  # the row's own values still read
    with (
        caplog.at_level("ERROR", logger="genchi.vault"),
        pytest.raises(DecryptionFailed) as refused,
    ):
        moved.name  # noqa: B018
    assert second.ref in str(refused.value) and "氏名" in str(refused.value)
    assert any(second.ref in r.getMessage() for r in caplog.records)
    assert Case.objects.get(pk=first.pk).name == NAME


def test_a_value_copied_to_a_row_of_another_contract_is_refused(contract, ward, contractor):
    from genchi.parties import services

    other = services.create_contract(
        code="c2027", title="t", ward=ward, contractor=contractor, fiscal_year=2027,
        starts_on=contract.starts_on, ends_on=contract.ends_on,
    )  # fmt: skip
    mine = _case(contract)
    theirs = _case(other, name="別人 花子")
    _set_raw(theirs, ref=mine.ref + "x")  # no help: the ciphertext names its own contract
    _copy_raw(mine, theirs, "name")
    with pytest.raises(DecryptionFailed):
        Case.objects.get(pk=theirs.pk).name  # noqa: B018


def test_values_written_before_rows_were_bound_still_read_and_are_rewritten(contract):
    from genchi.vault.fields import bind_values_to_rows, encrypt_text

    case = _case(contract)
    unbound = encrypt_text(contract_scope(contract.pk, "ward"), "field:intake.case.name", NAME)
    _set_raw(case, name="g2:" + unbound[3:])
    assert Case.objects.get(pk=case.pk).name == NAME
    assert bind_values_to_rows(Case) == 1
    assert _raw_row(case)["name"].startswith("g3:")
    assert Case.objects.get(pk=case.pk).name == NAME
