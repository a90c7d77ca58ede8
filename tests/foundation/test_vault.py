"""D1: personal data is encrypted at rest under the contract's key, wrapped by a master key."""

import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection

from genchi.intake.models import Case
from genchi.vault import keys
from genchi.vault.fields import ERASED, DecryptionFailed, decrypt_value
from genchi.vault.master import MasterKeyError, master_key_path, read_master_key
from genchi.vault.models import ContractKey

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


def test_values_round_trip_and_are_ciphertext_in_the_table(contract):
    case = _case(contract, building_line="梅田ハイツ101号室")
    raw = _raw_row(case)
    assert raw["name"].startswith("g1:") and NAME not in raw["name"]
    again = Case.objects.get(pk=case.pk)
    assert (again.name, again.address, again.building_line) == (NAME, ADDRESS, "梅田ハイツ101号室")


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
    assert b"g1:" in raw
    for secret in (NAME, ADDRESS, "梅田", "髙橋"):
        assert secret.encode("utf-8") not in raw, secret


def test_postgres_table_holds_no_plaintext(contract):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    _case(contract)
    with connection.cursor() as cur:
        cur.execute("SELECT intake_case::text FROM intake_case")
        rows = " ".join(r[0] for r in cur.fetchall())
    assert "g1:" in rows and NAME not in rows and "梅田" not in rows


def test_each_contract_has_its_own_key(contract, ward, contractor):
    from genchi.parties import services

    other = services.create_contract(
        code="other",
        title="別契約",
        ward=ward,
        contractor=contractor,
        fiscal_year=2026,
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
    )
    a = _case(contract)
    b = _case(other)
    key_a = _raw_row(a)["name"][3:25]
    key_b = _raw_row(b)["name"][3:25]
    assert key_a != key_b
    assert ContractKey.objects.filter(contract=contract).count() == 1


def test_ciphertext_is_bound_to_its_column(contract):
    case = _case(contract)
    raw = _raw_row(case)
    with pytest.raises(DecryptionFailed):
        decrypt_value("intake.case.address", raw["name"])


def test_plaintext_cannot_sneak_in_through_update_or_lookups(contract):
    case = _case(contract)
    with pytest.raises(ValueError):
        Case.objects.filter(pk=case.pk).update(name="平文")
    with pytest.raises(ValueError):
        list(Case.objects.filter(name=NAME))


def test_master_key_lives_in_a_private_file_not_the_database(contract):
    path = master_key_path()
    assert path.exists() and (path.stat().st_mode & 0o077) == 0
    master = read_master_key()
    row = ContractKey.objects.get(contract=contract)
    assert master.key not in bytes(row.wrapped_key)


def test_rotate_master_rewraps_every_key_and_data_stays_readable(contract, capsys):
    case = _case(contract)
    before = read_master_key()
    call_command("keys", "rotate-master")
    after = read_master_key()
    assert after.key_id != before.key_id
    assert set(ContractKey.objects.values_list("master_key_id", flat=True)) == {after.key_id}
    keys.clear_cache()
    assert Case.objects.get(pk=case.pk).name == NAME
    assert "包み直し" in capsys.readouterr().out


def test_missing_master_key_is_never_silently_replaced(contract):
    _case(contract)
    master_key_path().unlink()
    keys.clear_cache()
    with pytest.raises(MasterKeyError):
        Case.objects.get(contract=contract)


def test_crypto_erasure_makes_data_unreadable(contract):
    case = _case(contract)
    destroyed = keys.destroy_contract_keys(contract)
    assert len(destroyed) == 1
    assert Case.objects.get(pk=case.pk).name == ERASED
    with pytest.raises(keys.KeyUnavailable):
        keys.current_key(contract.pk)
