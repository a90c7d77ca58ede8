"""What the scenarios of test_atomic_writes.py build on, made on first use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.utils import timezone

from genchi.accounts.models import Role, User
from genchi.intake import services as intake
from genchi.intake.demo_data import generate, to_csv_bytes
from genchi.intake.models import Batch, Case, ImportRun
from genchi.package_format.records import blank_result
from genchi.parties.models import Contract, Organisation
from genchi.transfer import contract_keys, ledger, orgkeys
from genchi.transfer import services as transfer
from genchi.transfer.models import UsbStick
from tests.conftest import make_person
from tests.fieldwork.visits import sample, visit_data
from tests.fieldwork.world import receive
from tests.planner.conftest import TOKYO_ROWS


class World:
    """A ward, a contractor and a contract (the shared fixtures), and what scenarios build
    on them, made on first use with the log working."""

    def __init__(self, request, tmp_path: Path) -> None:
        self.request = request
        self.tmp_path = tmp_path
        self.ward: Organisation = request.getfixturevalue("ward")
        self.contractor: Organisation = request.getfixturevalue("contractor")
        self.contract: Contract = request.getfixturevalue("contract")
        self._made: dict[str, Any] = {}
        self.arranged = False

    def _once(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self._made:
            # Made inside the call, it would write with the entries failing: a false pass.
            assert not self.arranged, f"the scenario must make {name!r} before the call"
            self._made[name] = make()
        return self._made[name]

    @property
    def people(self) -> dict[str, User]:
        return self._once("people", lambda: self.request.getfixturevalue("people"))

    @property
    def staff(self) -> User:
        return self.people[Role.WARD_STAFF]

    @property
    def manager(self) -> User:
        return self.people[Role.MANAGER]

    @property
    def surveyor(self) -> User:
        return self.people[Role.SURVEYOR]

    def keys_exchanged(self) -> None:
        def exchange() -> None:
            orgkeys.exchange_demo_cards(self.ward, self.contractor)
            contract_keys.exchange_demo_cards(self.contract)

        self._once("keys", exchange)

    def csv(self, count: int = 5, seed: int = 3) -> bytes:
        return to_csv_bytes(generate(count, seed=seed), encoding="utf-8")

    @property
    def cases(self) -> list[Case]:
        def make() -> list[Case]:
            _run, report = intake.import_file(self.contract, self.csv(), filename="list.csv")
            assert report.stored, report.message
            return list(Case.objects.filter(contract=self.contract).order_by("pk"))

        return self._once("cases", make)

    @property
    def draft_batch(self) -> Batch:
        return self._once(
            "draft", lambda: intake.create_batch(self.contract, title="第1回", user=self.staff)
        )

    @property
    def filled_batch(self) -> Batch:
        def make() -> Batch:
            intake.add_cases(self.draft_batch, self.cases)
            return self.draft_batch

        return self._once("filled", make)

    @property
    def sealed_batch(self) -> Batch:
        return self._once("sealed", lambda: intake.seal_batch(self.filled_batch, user=self.staff))

    def folder(self, name: str) -> Path:
        folder = self.tmp_path / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def export(self) -> transfer.ExportResult:
        def make() -> transfer.ExportResult:
            self.keys_exchanged()
            return transfer.export_batch(self.sealed_batch, self.folder("out"), by=self.staff)

        return self._once("export", make)

    @property
    def results(self) -> transfer.ExportResult:
        def make() -> transfer.ExportResult:
            self.keys_exchanged()
            records = [blank_result("ref-0001", "resident_confirmed")]
            return transfer.export_results_package(
                self.contract, records, self.folder("results"), by=self.manager
            )

        return self._once("results", make)

    @property
    def stick(self) -> UsbStick:
        return self._once(
            "stick",
            lambda: ledger.register_stick(self.ward, label="USB-01", serial="SN-1", capacity_gb=8),
        )

    def lent_stick(self) -> UsbStick:
        ledger.lend_stick(
            self.stick,
            borrower_name="高田 誠",
            borrower_org=self.contractor,
            due_on=timezone.localdate() + dt.timedelta(days=3),
            by=self.staff,
        )
        return self.stick

    def run(self, status: str = ImportRun.Status.UPLOADED) -> ImportRun:
        run = intake.create_run(self.contract, self.csv(seed=5), filename="list.csv")
        if status in (ImportRun.Status.CHECKED, ImportRun.Status.REFUSED):
            intake.check_run(run)
            assert run.status == ImportRun.Status.CHECKED, run.message
        elif status != ImportRun.Status.UPLOADED:
            ImportRun.objects.filter(pk=run.pk).update(status=status)
            run.refresh_from_db()
        return run

    def person(self, username: str, org: Organisation, role: str, **kw: Any) -> User:
        return make_person(username, org, role, **kw)

    # --- the contractor's side: received cases, visits, plans, tablets -------------------

    @property
    def survey_cases(self) -> list:
        """Cases in Tokyo received through the handover (the planner can place them)."""

        def make() -> list:
            self.keys_exchanged()
            return receive(self.people, self.contract, rows=TOKYO_ROWS)

        return self._once("survey cases", make)

    @property
    def assigned(self) -> list:
        """The first four received cases, assigned to the surveyor."""

        def make() -> list:
            from genchi.fieldwork.models import SurveyCase
            from genchi.fieldwork.services import assign_cases

            refs = [c.case_ref for c in self.survey_cases[:4]]
            assign_cases(self.contract, refs, self.surveyor, by=self.manager)
            return list(SurveyCase.objects.filter(case_ref__in=refs).order_by("pk"))

        return self._once("assigned", make)

    @property
    def visit(self):
        """A visit of the first assigned case, with one photo (the case is visited)."""

        def make():
            from genchi.fieldwork.services import record_visit

            case = self.assigned[0]
            return record_visit(case, visit_data(), [sample()], by=self.surveyor)

        return self._once("visit", make)

    @property
    def office_base(self):
        def make():
            from genchi.planner.models import SurveyorBase

            return SurveyorBase.objects.create(
                contract=self.contract,
                person=None,
                kind=SurveyorBase.Kind.OFFICE,
                label="本社",
                lat="35.690921",
                lng="139.700258",
            )

        return self._once("office base", make)

    @property
    def campaign(self):
        """The next four weeks, from the office base, for the assigned cases."""

        def make():
            from genchi.planner.models import Campaign

            self.assigned, self.office_base  # noqa: B018 - made first
            first = timezone.localdate() + dt.timedelta(days=1)
            return Campaign.objects.create(
                contract=self.contract,
                starts_on=first,
                ends_on=first + dt.timedelta(days=27),
                weekdays=[0, 1, 2, 3, 4, 5],
                visits_per_day=6,
                visits_per_case=2,
                gap_days=7,
                seconds=1,
            )

        return self._once("campaign", make)

    @property
    def plan(self):
        """The campaign solved: the current plan."""

        def make():
            from genchi.planner import plans

            self.campaign  # noqa: B018 - made first
            return plans.solve_now(self.contract, self.manager)

        return self._once("plan", make)

    @property
    def tablet_key(self) -> str:
        """A tablet's public key (SPKI, base64), as the app sends it."""
        from tests.tablet.conftest import FakeTablet

        return self._once("tablet key", lambda: FakeTablet().spki)

    @property
    def device(self):
        """A tablet enrolled for the surveyor."""

        def make():
            from genchi.tablet import services as tablet

            enrolment = tablet.start_enrolment(self.tablet_key)
            return tablet.confirm_enrolment(
                enrolment.code,
                contract=self.contract,
                surveyor=self.surveyor,
                label="T-01",
                by=self.manager,
            )

        return self._once("device", make)
