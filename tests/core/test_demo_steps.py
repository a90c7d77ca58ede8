"""The demo is built by steps each app registers; they run in order, each once."""

from __future__ import annotations

import pytest

from genchi.core import demo


def test_apps_register_their_steps_in_dependency_order():
    names = [step.name for step in demo.demo_steps()]
    assert names[:2] == ["parties", "intake"]
    # The received cases are assigned (a confirmed area proposal) once the handover round
    # trip has brought them in, a few visited, and the rest planned; then a small second
    # batch goes the whole chain to the results back at the ward.
    # Then a contract of the previous fiscal year is run to its end: erased, certified,
    # closed; last, the ward's checklist, audit and follow-up of both years.
    assert names[-7:] == [
        "handover",
        "areas",
        "fieldwork-visits",
        "planner",
        "fieldwork-results",
        "erasure",
        "compliance-evaluation",
    ]
    # The erasure commits and rotates the master key as a real one: outside a transaction.
    assert [step.name for step in demo.demo_steps() if not step.atomic] == ["erasure"]


def test_a_step_name_cannot_be_taken_twice():
    with pytest.raises(RuntimeError):
        demo.register_demo_step("parties", lambda: None, order=1)


def test_prepare_runs_each_step_once_and_not_again(db, monkeypatch):
    ran: list[str] = []
    monkeypatch.setattr(demo, "_steps", {})
    demo.register_demo_step("second", lambda: ran.append("second"), order=20)
    demo.register_demo_step("first", lambda: ran.append("first"), order=10)
    said: list[str] = []
    assert demo.prepare_demo(lambda: bool(ran), said.append)
    assert ran == ["first", "second"]
    assert not demo.prepare_demo(lambda: bool(ran), said.append)
    assert ran == ["first", "second"]
    assert said[-1] == "デモデータは準備済みです。"
