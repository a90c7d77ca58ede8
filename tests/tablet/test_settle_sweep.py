"""A visit received from a tablet whose recording task failed or was lost is recorded
by the worker's sweep (`tablet.tasks.sweep_received`, run by `genchi worker`): once, never
while its task is queued or running, and given up after a bounded number of tries, which
the audit log and the health endpoint show."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from genchi.audit.models import AuditEntry
from genchi.fieldwork import selectors as fieldwork
from genchi.fieldwork import services as fieldwork_services
from genchi.jobs import sweeps
from genchi.jobs.models import TaskTicket
from genchi.tablet import tasks
from genchi.tablet.models import Upload
from tests.fieldwork.visits import photo_with_metadata
from tests.tablet.test_sync_up import ready, send_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing(monkeypatch):
    """`record_visit` fails the next `left` times (a worker's bug, a database cut)."""
    real = fieldwork_services.record_visit
    state = {"left": 1, "calls": 0}

    def flaky(*args, **kwargs):
        state["calls"] += 1
        if state["left"]:
            state["left"] -= 1
            raise RuntimeError("the recording failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(fieldwork_services, "record_visit", flaky)
    return state


def received(tablet, case, photos=()) -> Upload:
    pictures = [photo_with_metadata(seed=n) for n in range(photos)] if photos else []
    answer, visit, _ids = send_visit(tablet, case.case_ref, pictures)
    assert answer["state"] == "received", answer
    upload = Upload.objects.get(client_id=visit)
    assert upload.state == Upload.State.RECEIVED and upload.completed_at is not None
    return upload


def test_a_failed_recording_is_retried_by_the_sweep_and_recorded_once(
    enrolled, people, assigned, failing, settings
):
    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 0
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    upload = received(tablet, case, photos=2)
    ticket = TaskTicket.objects.get(key=tasks.key_of(upload.pk))
    assert ticket.state == "failed" and ticket.last_error == "RuntimeError"
    assert sweeps.run_sweeps()["tablet.settle"] == 1
    upload.refresh_from_db()
    assert upload.state == Upload.State.RECORDED and upload.sealed == b""
    assert not TaskTicket.objects.exists()
    case.refresh_from_db()
    assert case.visit_count == 1 and len(fieldwork.visits_of(case)[0].photos.all()) == 2
    # Sweeps and tasks run again: still one visit, one entry.
    assert sweeps.run_sweeps()["tablet.settle"] == 0
    tasks.settle_upload.enqueue(upload.pk, "")
    case.refresh_from_db()
    assert case.visit_count == 1 and failing["calls"] == 2
    assert AuditEntry.objects.filter(action="tablet.visit_uploaded").count() == 1
    assert AuditEntry.objects.filter(action="visit.recorded").count() == 1


def test_a_visit_just_received_is_left_to_its_task(enrolled, people, assigned, failing, settings):
    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 120
    tablet = ready(enrolled, people)
    upload = received(tablet, assigned["mine"][0])
    assert sweeps.run_sweeps()["tablet.settle"] == 0
    # Its task failed a moment ago: the sweep waits the grace period from then on.
    two_minutes_ago = timezone.now() - dt.timedelta(seconds=121)
    Upload.objects.filter(pk=upload.pk).update(completed_at=two_minutes_ago)
    assert sweeps.run_sweeps()["tablet.settle"] == 0
    TaskTicket.objects.update(retry_after=two_minutes_ago)
    assert sweeps.run_sweeps()["tablet.settle"] == 1
    upload.refresh_from_db()
    assert upload.state == Upload.State.RECORDED


def test_a_visit_whose_task_was_lost_is_recorded(enrolled, people, assigned, settings, monkeypatch):
    """The server stopped between the commit and the enqueue: no task, no ticket."""
    from genchi.jobs import runner

    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 0
    monkeypatch.setattr(runner, "enqueue_after_commit", lambda *a, **k: None)
    tablet = ready(enrolled, people)
    upload = received(tablet, assigned["mine"][0])
    monkeypatch.undo()
    assert not TaskTicket.objects.exists()
    assert sweeps.run_sweeps()["tablet.settle"] == 1
    upload.refresh_from_db()
    assert upload.state == Upload.State.RECORDED


def test_retries_are_bounded_and_the_office_is_told(
    enrolled, people, assigned, failing, settings, client
):
    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 0
    settings.GENCHI_TASK_MAX_RETRIES = 2
    failing["left"] = 99
    tablet = ready(enrolled, people)
    case = assigned["mine"][0]
    upload = received(tablet, case)
    assert [sweeps.run_sweeps()["tablet.settle"] for _ in range(4)] == [1, 1, 0, 0]
    assert failing["calls"] == 3  # the first try and two retries
    ticket = TaskTicket.objects.get(key=tasks.key_of(upload.pk))
    assert ticket.state == "gave_up" and ticket.retries == 2
    entry = AuditEntry.objects.get(action="jobs.task_gave_up")
    assert entry.contract_code == case.contract.code
    assert entry.detail["key"] == tasks.key_of(upload.pk)
    assert entry.detail["error"] == "RuntimeError"
    # The visit stays sealed on the server, received: nothing is lost.
    upload.refresh_from_db()
    assert upload.state == Upload.State.RECEIVED and upload.sealed != b""
    assert client.get("/health/").json()["tasks_given_up"] == 1


def test_once_the_cause_is_fixed_the_operator_lets_the_sweep_try_again(
    enrolled, people, assigned, failing, settings
):
    from django.core.management import call_command

    settings.GENCHI_TASK_RETRY_GRACE_SECONDS = 0
    settings.GENCHI_TASK_MAX_RETRIES = 1
    failing["left"] = 99
    tablet = ready(enrolled, people)
    upload = received(tablet, assigned["mine"][0])
    assert [sweeps.run_sweeps()["tablet.settle"] for _ in range(3)] == [1, 0, 0]
    assert TaskTicket.objects.get().state == "gave_up"
    failing["left"] = 0  # fixed
    call_command("worker", "--retry-given-up")
    assert AuditEntry.objects.filter(action="jobs.task_retry_resumed").count() == 1
    assert sweeps.run_sweeps()["tablet.settle"] == 1
    upload.refresh_from_db()
    assert upload.state == Upload.State.RECORDED and not TaskTicket.objects.exists()
