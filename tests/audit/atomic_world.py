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
