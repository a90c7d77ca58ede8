"""Cases and visits stored with fieldwork's former outcome codes take the result package's
codes (one vocabulary, genchi.core.outcomes), and going back restores the former ones."""

from __future__ import annotations

import pytest

from tests import scratch_db

FORMER = [("fieldwork", "0007_visit_recorded_by")]
# (code now, former code) for every outcome, and a case not decided yet.
PAIRS = [
    ("resident_confirmed", "confirmed"),
    ("resident_presumed", "presumed"),
    ("not_resident", "not_living"),
    ("whereabouts_unknown", "not_found"),
    ("not_surveyable", "impossible"),
    ("", ""),
]


def _outcomes(alias: str, table: str) -> list[str]:
    with scratch_db.connections[alias].cursor() as cur:
        cur.execute(f"SELECT outcome FROM {table} ORDER BY id")  # noqa: S608
        return [row[0] for row in cur.fetchall()]


@pytest.mark.django_db
def test_outcome_codes_move_to_the_package_codes_and_back(tmp_path, django_db_blocker):
    with django_db_blocker.unblock(), scratch_db.database(tmp_path / "m.sqlite3") as alias:
        latest = scratch_db.migrate(alias, [("fieldwork", "0009_outcome_codes_data")])
        objects, person, ward, firm, contract = scratch_db.a_contract(
            latest, alias, username="c-staff"
        )
        package = objects("transfer.Package").create(
            holder=firm, direction="in", kind="cases", contract=contract, sender=ward,
            recipient=firm, record_count=len(PAIRS), digest="d" * 64, size=1, filename="p",
            manifest_created_at="", signing_fingerprint="f", by=person,
        )  # fmt: skip
        for n, (code, _former) in enumerate(PAIRS):
            # Empty personal fields: stored as they are, no key needed on this database.
            case = objects("fieldwork.SurveyCase").create(
                contract=contract, case_ref=f"ref-{n}", received_in=package, outcome=code
            )
            if code:
                objects("fieldwork.Visit").create(
                    case=case, contract=contract, number=1, surveyor=person, answered=False,
                    visited_at=contract.starts_on.isoformat() + "T10:00Z", outcome=code,
                    by=person,
                )  # fmt: skip

        scratch_db.migrate(alias, FORMER)
        assert _outcomes(alias, "fieldwork_surveycase") == [f for _c, f in PAIRS]
        assert _outcomes(alias, "fieldwork_visit") == [f for _c, f in PAIRS if f]

        scratch_db.migrate_to_latest(alias)
        assert _outcomes(alias, "fieldwork_surveycase") == [c for c, _f in PAIRS]
        assert _outcomes(alias, "fieldwork_visit") == [c for c, _f in PAIRS if c]
