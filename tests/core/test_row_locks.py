"""Row locks take only the rows they name, in the mode that lets others refer to them.

A load test found a deadlock on PostgreSQL: a plan locked with `select_for_update()` was
ordered by its model's Meta ordering through the contract, so FOR UPDATE also locked the
CONTRACT row; another transaction, holding the audit log's lock, then needed KEY SHARE on
that contract row to commit a row referring to it (the deferred foreign-key check), while
the first waited for the audit log's lock. Every lock in Genchi is therefore
`select_for_update(of=("self",), no_key=True)`: FOR NO KEY UPDATE OF the model's own
table, which still serialises writers of the same row but never blocks a transaction
that only refers to it.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest
from django.db import connection, connections, transaction

import genchi
from genchi.fieldwork.models import SurveyCase
from tests.fieldwork.world import receive
from tests.transfer.conftest import keys_exchanged  # noqa: F401 - a fixture

SOURCE = Path(genchi.__file__).parent


def _locks_without_the_rule() -> list[str]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "select_for_update"
            ):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            of = keywords.get("of")
            no_key = keywords.get("no_key")
            own_table = (
                isinstance(of, ast.Tuple)
                and len(of.elts) == 1
                and isinstance(of.elts[0], ast.Constant)
                and of.elts[0].value == "self"
            )
            if not (own_table and isinstance(no_key, ast.Constant) and no_key.value is True):
                found.append(f"{path.relative_to(SOURCE.parent)}:{node.lineno}")
    return found


def test_every_row_lock_names_its_own_table_and_no_key():
    assert _locks_without_the_rule() == []


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row lock modes are PostgreSQL's")
def test_locking_cases_leaves_their_contract_free_to_be_referred_to(
    _audit_log_flushable,
    transactional_db,
    people,
    contract,
    keys_exchanged,  # noqa: F811 - the fixture imported above
):
    """The cases' Meta ordering goes through the contract: the lock still takes only the
    cases' rows, and another connection may take KEY SHARE on the contract (what its
    commit of a row referring to the contract needs) and on a locked case."""
    cases = receive(people, contract)
    assert SurveyCase._meta.ordering[0] == "contract"
    locked = threading.Event()
    release = threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(
                    SurveyCase.objects.select_for_update(of=("self",), no_key=True).filter(
                        contract=contract
                    )
                )
                locked.set()
                release.wait(20)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(20)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM parties_contract WHERE id = %s FOR KEY SHARE NOWAIT", [contract.pk]
            )
            cursor.execute(
                "SELECT 1 FROM fieldwork_surveycase WHERE id = %s FOR KEY SHARE NOWAIT",
                [cases[0].pk],
            )
    finally:
        release.set()
        holder.join(30)
