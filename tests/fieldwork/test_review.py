"""Outcome and review (issue 15 item 4): the office approves a visited case (done) or
sends it back to the surveyor with a reason (another visit, the planner told); the
manager's progress by surveyor, area and outcome with the days left."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from genchi.accounts.models import Role
from genchi.audit.models import AuditEntry
from genchi.fieldwork import services
from genchi.fieldwork.models import Review, SurveyCase
from genchi.fieldwork.services import assign_cases, record_visit
from genchi.fieldwork.signals import visit_result_recorded
from tests.fieldwork.visits import visit_data
from tests.fieldwork.world import receive


@pytest.fixture
def cases(people, contract, keys_exchanged) -> list[SurveyCase]:
    received = receive(people, contract)
    assign_cases(
        contract, [c.case_ref for c in received[:3]], people[Role.SURVEYOR], by=people[Role.MANAGER]
    )
    return list(SurveyCase.objects.filter(contract=contract).order_by("id"))


def test_approve_finishes_the_case(cases, people):
    case = cases[0]
    with pytest.raises(ValidationError, match="確認待ち"):
        services.review_case(case, approve=True, by=people[Role.MANAGER])  # not visited yet
    record_visit(case, visit_data(), by=people[Role.SURVEYOR])
    services.review_case(case, approve=True, by=people[Role.HANDLER])
    case.refresh_from_db()
    assert case.status == SurveyCase.Status.DONE and case.review == Review.APPROVED
    assert case.reviewed_by == people[Role.HANDLER] and case.outcome == "resident_presumed"
    assert AuditEntry.objects.filter(action="survey_case.approved").exists()
    with pytest.raises(ValidationError):
        services.review_case(case, approve=False, reason="再確認", by=people[Role.MANAGER])


def test_send_back_needs_a_reason_and_brings_the_case_back(
    cases, people, django_capture_on_commit_callbacks
):
    case = cases[0]
    visit = record_visit(case, visit_data(), by=people[Role.SURVEYOR])
    with pytest.raises(ValidationError, match="理由"):
        services.review_case(case, approve=False, reason="  ", by=people[Role.MANAGER])
    heard = []

    def listener(sender, **kwargs):
        heard.append(kwargs)

    visit_result_recorded.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.review_case(
                case, approve=False, reason="表札の写真を撮ってください。", by=people[Role.MANAGER]
            )
    finally:
        visit_result_recorded.disconnect(listener)
    case.refresh_from_db()
    assert case.status == SurveyCase.Status.VISITED and case.review == Review.SENT_BACK
    assert case.needs_revisit and case.review_reason == "表札の写真を撮ってください。"
    assert len(heard) == 1 and heard[0]["needs_revisit"] is True
    assert heard[0]["visited_at"] == visit.visited_at
    entry = AuditEntry.objects.filter(action="survey_case.sent_back").latest("seq")
    assert "表札" not in str(entry.detail)
    # The surveyor goes again: the case is back for review.
    record_visit(case, visit_data(), by=people[Role.SURVEYOR])
    case.refresh_from_db()
    assert case.review == Review.PENDING and case.visit_count == 2


def test_only_the_office_reviews(cases, people, contract, client_for):
    case = cases[0]
    record_visit(case, visit_data(), by=people[Role.SURVEYOR])
    with pytest.raises(PermissionDenied):
        services.review_case(case, approve=True, by=people[Role.SURVEYOR])
    url = f"/fieldwork/cases/{contract.code}/{case.case_ref}/review/"
    for role in (Role.SURVEYOR, Role.WARD_ADMIN, Role.WARD_STAFF, Role.WARD_AUDITOR):
        assert client_for(role).post(url, {"decision": "approve"}).status_code == 403
    page = client_for(Role.MANAGER).get(f"/fieldwork/cases/{contract.code}/{case.case_ref}/")
    assert "確認を記録する" in page.content.decode()
    response = client_for(Role.MANAGER).post(url, {"decision": "send_back", "reason": ""})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.review == Review.PENDING  # refused: no reason
    client_for(Role.MANAGER).post(url, {"decision": "send_back", "reason": "再訪問を"})
    case.refresh_from_db()
    assert case.review == Review.SENT_BACK


def test_progress_by_surveyor_area_and_outcome(cases, people, contract, client_for):
    record_visit(cases[0], visit_data(), by=people[Role.SURVEYOR])
    services.review_case(cases[0], approve=True, by=people[Role.MANAGER])
    record_visit(
        cases[1], visit_data(needs_revisit=True, outcome="not_resident"), by=people[Role.SURVEYOR]
    )
    url = f"/fieldwork/progress/{contract.code}/"
    response = client_for(Role.MANAGER).get(url)
    assert response.status_code == 200
    context = response.context
    assert context["totals"] == {"total": 4, "visited": 2, "pending": 1, "done": 1, "revisit": 1}
    by_outcome = {row["value"]: row["n"] for row in context["by_outcome"]}
    assert by_outcome == {
        "": 2,
        "resident_confirmed": 0,
        "resident_presumed": 1,
        "not_resident": 1,
        "whereabouts_unknown": 0,
        "not_surveyable": 0,
    }
    surveyor = next(
        r for r in context["by_surveyor"] if r["surveyor_id"] == people[Role.SURVEYOR].pk
    )
    assert (surveyor["total"], surveyor["visited"], surveyor["done"]) == (3, 2, 1)
    assert {(r["pref"], r["city"]) for r in context["by_area"]} >= {("東京都", "練馬区")}
    assert context["days_left"] >= 0 and "残り" in response.content.decode()
    assert client_for(Role.SURVEYOR).get(url).status_code == 403
    assert client_for(Role.WARD_ADMIN).get(url).status_code == 403
    # The case list links to it for the office only.
    assert url in client_for(Role.MANAGER).get("/fieldwork/cases/").content.decode()
    assert url not in client_for(Role.SURVEYOR).get("/fieldwork/cases/").content.decode()


def test_progress_counts_are_grouped_by_thousands(cases, contract, client_for, monkeypatch):
    """Counts of a large survey read as 12,345 (the project's number formatting), not
    12345: the selector's figures are enlarged, the page is what is checked."""
    from genchi.fieldwork import selectors

    real = selectors.progress

    def large(user, contract):
        figures = real(user, contract)
        big = dict.fromkeys(("total", "visited", "pending", "done", "revisit"), 12345)
        figures["totals"] = big
        figures["by_surveyor"] = [{**row, **big} for row in figures["by_surveyor"]]
        figures["by_area"] = [{**row, **big} for row in figures["by_area"]]
        figures["by_outcome"] = [{**row, "n": 23456} for row in figures["by_outcome"]]
        return figures

    monkeypatch.setattr(selectors, "progress", large)
    page = client_for(Role.MANAGER).get(f"/fieldwork/progress/{contract.code}/").content.decode()
    assert "12345" not in page and "23456" not in page
    assert "<dd>12,345</dd>" in page and '<td class="num">12,345</td>' in page
    assert '<td class="num">23,456</td>' in page
