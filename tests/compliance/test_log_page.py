"""The audit log page shows an auditor what concerns their organisation and its
contracts, and nothing of another ward (issue 12: entries with no organisation and those
of a contractor serving both wards leaked)."""

import datetime as dt

import pytest
from django.test import override_settings

from genchi.accounts.models import Role
from genchi.audit import chain
from genchi.audit.chain import record
from genchi.audit.models import AuditEntry
from genchi.compliance.models import ChainCheck
from genchi.compliance.selectors import entries_for
from genchi.compliance.services import request_chain_check
from genchi.core.acting import Actor, acting_as
from genchi.parties import services
from genchi.parties.models import Contract, Organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_ward_contract(contractor):
    other = services.create_organisation(
        code="chuo-tax", name="中央区 税務課", kind=Organisation.Kind.WARD, home_city="東京都中央区"
    )
    return services.create_contract(
        code="chuo2026",
        title="中央区の調査",
        ward=other,
        contractor=contractor,  # the same contractor serves both wards
        fiscal_year=2026,
        starts_on=dt.date(2026, 6, 1),
        ends_on=dt.date(2027, 3, 31),
        status=Contract.Status.ACTIVE,
    )


def _actions(user) -> set[str]:
    return set(entries_for(user).values_list("action", flat=True))


def test_auditor_sees_own_contracts_and_own_organisation(people, contract, other_ward_contract):
    auditor, staff = people[Role.WARD_AUDITOR], people[Role.WARD_STAFF]
    manager = people[Role.MANAGER]
    with acting_as(Actor(user_id=manager.pk, username="c-manager", organisation_code="servicer")):
        record("probe.own_contract", contract=contract)
        record("probe.other_contract", contract=other_ward_contract)
        record("probe.contractor_no_contract")
    with acting_as(Actor(user_id=staff.pk, username="w-staff", organisation_code="shinjuku-tax")):
        record("probe.own_people")
    with acting_as(Actor(channel="cli")):
        record("probe.system_about_own_person", obj=staff)
        record("probe.system_about_own_organisation", obj=staff.organisation)
        record("probe.system_about_nobody")
        record("probe.system_other_contract", contract=other_ward_contract)
        record("probe.system_about_other_person", obj=manager)

    seen = {a for a in _actions(auditor) if a.startswith("probe.")}
    assert seen == {
        "probe.own_contract",
        "probe.own_people",
        "probe.system_about_own_person",
        "probe.system_about_own_organisation",
    }


def test_the_page_lists_only_scoped_entries(people, client_for, other_ward_contract):
    with acting_as(Actor(channel="cli")):
        record("probe.system_other_contract", contract=other_ward_contract)
    page = client_for(Role.WARD_AUDITOR).get("/audit/", {"contract": ""})
    assert page.status_code == 200
    assert "chuo2026" not in page.content.decode()


def test_the_log_reads_in_words(people, client_for, contract):
    """Issue 13: names rather than usernames (the username on hover), objects by what they
    are, details as lines, filters by person and by action as selects."""
    staff, manager = people[Role.WARD_STAFF], people[Role.MANAGER]
    staff.full_name = "高田 誠"
    staff.save(update_fields=["full_name"])
    with acting_as(Actor(user_id=staff.pk, username="w-staff", organisation_code="shinjuku-tax")):
        record("person.updated", obj=manager, detail={"fields": ["full_name"], "n": 1})
    client = client_for(Role.WARD_AUDITOR)
    page = client.get("/audit/", {"actor": staff.pk, "action": "person.updated"})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'title="w-staff">高田 誠</span>' in html
    assert f"利用者 {manager.full_name}" in html and "accounts.user" not in html
    assert "fields: full_name" in html
    assert html.count("<tr>") == 2  # the header and the one entry
    assert '<option value="person.updated" selected>利用者の変更</option>' in html


def test_unknown_filter_values_are_refused_in_words(client_for):
    page = client_for(Role.WARD_AUDITOR).get("/audit/", {"action": "no.such", "actor": "x"})
    assert page.status_code == 200
    assert "正しく選択してください" in page.content.decode()


def test_the_page_shows_the_last_check_instead_of_verifying_on_every_view(
    people, client_for, monkeypatch
):
    """Issue 13: every view re-verified the whole log (1.4 s at 56k entries)."""
    client = client_for(Role.WARD_AUDITOR)
    page = client.get("/audit/").content.decode()
    assert "改ざん検査はまだ実行されていません" in page
    monkeypatch.setattr(chain, "verify", lambda: pytest.fail("the page verified the log"))
    client.get("/audit/")
    monkeypatch.undo()

    assert client.post("/audit/check/").status_code == 302  # the worker runs it (here inline)
    check = ChainCheck.objects.get()
    assert check.ok is True and check.job_state == "succeeded"
    assert check.entry_count == AuditEntry.objects.filter(seq__lte=check.entry_count).count()
    page = client.get("/audit/").content.decode()
    assert "改ざん検査: 正常" in page and check.head_hash in page
    assert "件の記録が追加されています" in page  # the views since the check were logged
    assert AuditEntry.objects.filter(action="audit.checked", detail__ok=True).exists()


def test_a_failed_check_names_each_problem(people, client_for, monkeypatch):
    broken = chain.VerifyResult(
        ok=False,
        count=2,
        head_hash="0" * 64,
        broken_seq=3,
        reason="x",
        problems=(chain.Problem("chain", "記録 #3", "直前の記録のハッシュと一致しません", 3),),
    )
    monkeypatch.setattr(chain, "verify", lambda: broken)
    client = client_for(Role.WARD_AUDITOR)
    client.post("/audit/check/")
    page = client.get("/audit/").content.decode()
    assert "改ざん検査: 異常" in page
    assert "記録 #3: 直前の記録のハッシュと一致しません" in page


def test_a_check_under_way_is_not_asked_twice(people):
    auditor = people[Role.WARD_AUDITOR]
    with override_settings(GENCHI_JOBS_ENQUEUE_ON_COMMIT=True):  # nothing runs it here
        first = request_chain_check(by=auditor)
        assert request_chain_check(by=auditor) == first
    assert ChainCheck.objects.count() == 1
