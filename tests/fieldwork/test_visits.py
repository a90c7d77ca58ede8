"""Visits (issue 15 item 1, J4/J5): several per case, counted, moving the case's status;
the visit rules; free text and position encrypted at rest; the planner's signal sent on
commit; who may record a visit on which case (C-S2.4); the office form."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork import services
from genchi.fieldwork.models import Review, SurveyCase, Visit
from genchi.fieldwork.services import assign_cases, record_visit
from genchi.fieldwork.signals import visit_result_recorded
from genchi.parties import services as parties
from genchi.parties.models import Designation
from tests.conftest import make_person
from tests.fieldwork.visits import form_data, visit_data
from tests.fieldwork.world import receive


@pytest.fixture
def cases(people, contract, keys_exchanged) -> list[SurveyCase]:
    received = receive(people, contract)
    assign_cases(
        contract, [c.case_ref for c in received[:2]], people[Role.SURVEYOR], by=people[Role.MANAGER]
    )
    return list(SurveyCase.objects.filter(contract=contract).order_by("id"))


def test_several_visits_are_counted_and_move_the_case(cases, people):
    case = cases[0]
    assert case.status == SurveyCase.Status.ASSIGNED
    first = record_visit(
        case, visit_data(needs_revisit=True, outcome="resident_presumed"), by=people[Role.SURVEYOR]
    )
    case.refresh_from_db()
    assert (first.number, case.visit_count, case.status) == (1, 1, SurveyCase.Status.VISITED)
    assert case.needs_revisit and case.contact_slip_left and case.review == Review.PENDING
    assert first.surveyor == people[Role.SURVEYOR] and first.source == Visit.Source.OFFICE
    # The office records the second visit the surveyor phoned in: still the surveyor's.
    second = record_visit(
        case,
        visit_data(
            answered=True,
            interviewee="person",
            interview="本人に会い、連絡票を手渡した。",
            contact_slip="in_person",
            outcome="resident_confirmed",
        ),
        by=people[Role.HANDLER],
    )
    case.refresh_from_db()
    assert second.number == 2 and case.visit_count == 2
    assert second.surveyor == people[Role.SURVEYOR] and second.by == people[Role.HANDLER]
    assert case.outcome == "resident_confirmed" and not case.needs_revisit
    assert list(case.visits.values_list("number", flat=True)) == [1, 2]
    entry = AuditEntry.objects.filter(action="visit.recorded").latest("seq")
    assert entry.detail["number"] == 2 and "本人" not in str(entry.detail)


def test_no_visit_on_an_unassigned_or_finished_case(cases, people):
    unassigned = cases[2]
    with pytest.raises(ValidationError, match="割り当てられていない"):
        record_visit(unassigned, visit_data(), by=people[Role.MANAGER])
    case = cases[0]
    record_visit(case, visit_data(), by=people[Role.SURVEYOR])
    services.review_case(case, approve=True, by=people[Role.MANAGER])
    with pytest.raises(ValidationError, match="完了"):
        record_visit(case, visit_data(), by=people[Role.SURVEYOR])
    case.refresh_from_db()
    assert case.visit_count == 1 and case.visits.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"interviewee": "none", "interview": "隣の人と話した。"}, "interview"),
        ({"interviewee": "neighbour", "interview": ""}, "interview"),
        ({"answered": False, "interviewee": "person", "interview": "会えた。"}, "interviewee"),
        ({"answered": False, "contact_slip": "in_person"}, "contact_slip"),
        ({"outcome": "resident_confirmed"}, "outcome"),  # nobody met
        ({"lng": ""}, "lng"),
        ({"lat": "48.5", "lng": "2.3"}, "lat"),  # not in Japan
        ({"position_source": "gps", "accuracy_m": None}, "accuracy_m"),
        ({"position_source": "manual", "lat": "", "lng": ""}, "lat"),
        ({"tenure": "owned"}, "landlord_name"),
        ({"visited_at": timezone.now() + dt.timedelta(days=1)}, "visited_at"),
    ],
)
def test_visit_rules(cases, people, overrides, field):
    with pytest.raises(ValidationError) as caught:
        record_visit(cases[0], visit_data(**overrides), by=people[Role.SURVEYOR])
    assert field in caught.value.message_dict
    assert not Visit.objects.exists()


def test_no_visit_before_the_case_was_received(cases, people):
    with pytest.raises(ValidationError) as caught:
        record_visit(
            cases[0],
            visit_data(visited_at=cases[0].created_at - dt.timedelta(days=2)),
            by=people[Role.SURVEYOR],
        )
    assert "visited_at" in caught.value.message_dict


def test_free_text_and_position_are_encrypted_at_rest(cases, people):
    visit = record_visit(
        cases[0],
        visit_data(
            answered=True,
            interviewee="family",
            interview="同居の家族が本人は在宅と答えた。",
            notes="ベランダに洗濯物。",
        ),
        by=people[Role.SURVEYOR],
    )
    with connection.cursor() as cur:
        cur.execute(
            "SELECT interview, notes, landlord_name, landlord_phone, lat, lng "
            "FROM fieldwork_visit WHERE id = %s",
            [visit.pk],
        )
        raw = " ".join(cur.fetchone())
    for clear in ("同居の家族", "洗濯物", "豊玉管理", "03-1234", "35.735", "139.651"):
        assert clear not in raw
    again = Visit.objects.get(pk=visit.pk)
    assert again.interview == "同居の家族が本人は在宅と答えた。"
    assert again.landlord_phone == "03-1234-5678" and again.lat == "35.735000"


def test_the_planner_hears_of_a_visit_in_its_transaction(
    cases, people, django_capture_on_commit_callbacks
):
    heard = []

    def listener(sender, **kwargs):
        # Inside the visit's savepoint: the visit is there to be read with it.
        heard.append((kwargs, Visit.objects.filter(case=kwargs["case"]).count()))

    visit_result_recorded.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False):
            visit = record_visit(cases[0], visit_data(needs_revisit=True), by=people[Role.SURVEYOR])
        # Heard before any commit: a listener's writes commit or roll back with the visit.
        assert len(heard) == 1
    finally:
        visit_result_recorded.disconnect(listener)
    sent, visits_seen = heard[0]
    assert visits_seen == 1
    assert sent["case"].pk == cases[0].pk and sent["needs_revisit"] is True
    assert sent["visited_at"] == visit.visited_at and timezone.is_aware(sent["visited_at"])
    assert sent["by"] == people[Role.SURVEYOR]


def test_a_failed_visit_sends_nothing(cases, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationError):
        record_visit(cases[2], visit_data(), by=people[Role.MANAGER])  # unassigned
    assert callbacks == []


def test_who_records_visits_on_which_case(cases, people, contractor, contract):
    mine, not_mine = cases[0], cases[2]
    record_visit(mine, visit_data(), by=people[Role.SURVEYOR])
    colleague = make_person("c-surveyor2", contractor, Role.SURVEYOR)
    parties.designate(
        contract=contract,
        person=colleague,
        role=Designation.Role.SURVEYOR,
        starts_on=contract.starts_on,
        by=people[Role.WARD_ADMIN],
    )
    assign_cases(contract, [not_mine.case_ref], colleague, by=people[Role.MANAGER])
    not_mine.refresh_from_db()
    with pytest.raises(PermissionDenied):
        record_visit(not_mine, visit_data(), by=people[Role.SURVEYOR])
    for role in (Role.MANAGER, Role.HANDLER):
        assert services.can_record_visit(people[role], not_mine)
    for role in (Role.WARD_ADMIN, Role.WARD_STAFF, Role.WARD_AUDITOR):
        with pytest.raises(PermissionDenied):
            record_visit(mine, visit_data(), by=people[role])
    # A surveyor whose designation ended records nothing more, even on their own case.
    parties.end_designation(
        Designation.objects.get(person=people[Role.SURVEYOR]), by=people[Role.WARD_ADMIN]
    )
    with pytest.raises(PermissionDenied):
        record_visit(mine, visit_data(), by=people[Role.SURVEYOR])


def test_the_office_form_per_role(cases, people, contract, client_for):
    mine, other = cases[0], cases[1]
    url = f"/fieldwork/cases/{contract.code}/{{}}/visits/new/"
    page = client_for(Role.HANDLER).get(url.format(mine.case_ref)).content.decode()
    # In the order met at the door: the building, then the bell, the slip, the landlord.
    order = [
        "建物の種類",
        "表札",
        "郵便受けの名前",
        "電気メーター",
        "洗濯物",
        "応答",
        "面談の相手",
        "連絡票",
        "大家・管理会社の名称",
        "写真",
        "調査結果(この訪問まで)",
        "メモ",
    ]
    positions = [page.index(label) for label in order]
    assert positions == sorted(positions)
    assert "本人には会えないが" in page  # the rule of each outcome is on the form
    response = client_for(Role.HANDLER).post(url.format(mine.case_ref), form_data())
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.visit_count == 1
    visit = mine.visits.get()
    assert visit.by == people[Role.HANDLER] and visit.notes.startswith("郵便受け")
    # An error is shown at its field, nothing is kept.
    response = client_for(Role.SURVEYOR).post(
        url.format(mine.case_ref), form_data(interviewee="none", interview="話した。")
    )
    assert response.status_code == 200
    assert "面談なしの場合、面談の内容は書けません。" in response.content.decode()
    mine.refresh_from_db()
    assert mine.visit_count == 1
    # The surveyor reaches the form of their own case only; the ward never.
    assert client_for(Role.SURVEYOR).get(url.format(other.case_ref)).status_code == 200
    unassigned = cases[2]
    assert client_for(Role.SURVEYOR).get(url.format(unassigned.case_ref)).status_code == 404
    for role in (Role.WARD_ADMIN, Role.WARD_STAFF, Role.WARD_AUDITOR):
        assert client_for(role).get(url.format(mine.case_ref)).status_code == 403
    # The case page shows the visit.
    page = client_for(Role.MANAGER).get(f"/fieldwork/cases/{contract.code}/{mine.case_ref}/")
    assert "豊玉管理株式会社" in page.content.decode()


def test_the_free_text_check_is_one_method(cases):
    from genchi.fieldwork.forms import VisitForm

    seen = []

    class Checked(VisitForm):
        def _check_free_text(self, name, value):
            seen.append(name)
            return super()._check_free_text(name, value)

    form = Checked(form_data(answered=True, interviewee="family", interview="在宅と聞いた。"))
    assert form.is_valid(), form.errors
    assert sorted(seen) == sorted(VisitForm.FREE_TEXT) == ["interview", "notes"]


def test_the_visit_form_puts_the_reason_on_the_field_and_logs(cases):
    """The visit form checks its free text through validate_free_text, one field at a time
    (there is no form mixin: one way only)."""
    from genchi.fieldwork.forms import VisitForm

    case = cases[0]
    data = form_data(answered=True, interviewee="family", interview="車椅子の方が応対")
    form = VisitForm(data, case=case)
    assert not form.is_valid()
    assert "interview" in form.errors and "notes" not in form.errors
    assert "「車椅子」は障害に関する記載のため記録できません。" in form.errors["interview"][0]
    entry = AuditEntry.objects.get(action="forbidden_text.refused")
    assert entry.detail == {"field": "interview", "categories": ["disability"], "form": "VisitForm"}
    assert entry.contract_code == case.contract.code
