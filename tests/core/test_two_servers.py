"""Two servers and two workers on one PostgreSQL and one data folder (issue 18 item 2).

Two `genchi serve` processes (each gunicorn with its own job worker, as on two hosts)
listen on two ports of 127.0.0.1 and share this test's database and data folder (keys,
audit anchor, job folders, outboxes); each collects its static files on its own disk, as
docs/deploy.md asks of several hosts. The same people drive the same work through both
at once, over HTTP with the session cookie of one sign-in (sessions live in the
database, so either server serves them):

1. two ward lists imported at once (uploaded to one server, committed on the other);
2. two batches created at once (distinct numbers), then filled and sealed;
3. both batches exported at once (one through each server, each on its own stick),
   each package downloaded from the other server;
4. the contractor imports both packages at once, one through each server.

Then: every job ran once and succeeded, every task ran once, every row is there, no slip
number is taken twice, and the audit log's chain, anchor file and checkpoints verify.

More work is added as another phase in `PHASES` (a function taking the `World`).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from genchi.accounts.models import Role
from genchi.audit import chain
from genchi.intake import services as intake
from genchi.intake.demo_data import generate, to_csv_bytes
from genchi.intake.models import Batch, Case, ImportRun
from genchi.jobs.models import JobState
from genchi.transfer import ledger
from genchi.transfer.models import HandoverJob, HandoverSlip, Package
from tests.conftest import signed_in_client
from tests.jobs.conftest import wait_for
from tests.transfer.conftest import keys_exchanged  # noqa: F401 - a fixture

pytestmark = [
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'",
        reason="servers on several hosts share PostgreSQL (SQLite is one host's file)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
ROWS = (120, 90)  # the two ward lists
JOB_TIMEOUT = 45


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Response:
    status: int
    location: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Browser:
    """One person's cookies, sent to whichever server a request goes to (cookies do not
    depend on the port): a session started on one server is used on both."""

    cookies: dict[str, str] = field(default_factory=dict)

    def _send(self, request: urllib.request.Request) -> Response:
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=60) as reply:
                status, headers, body = reply.status, reply.headers, reply.read()
        except urllib.error.HTTPError as reply:
            status, headers, body = reply.code, reply.headers, reply.read()
        for raw in headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return Response(status, headers.get("Location", ""), body)

    def get(self, url: str) -> Response:
        return self._send(urllib.request.Request(url))  # noqa: S310 - 127.0.0.1

    def post(
        self, url: str, fields: dict[str, str], files: dict | None = None, page: str = ""
    ) -> Response:
        """POST a form the way the page does: the page first (`page`, else `url`), for
        its CSRF token."""
        page = self.get(page or url)
        assert page.status == 200, (url, page.status, page.text[:500])
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        fields = {"csrfmiddlewaretoken": token[1], **fields}
        if files:
            boundary = uuid.uuid4().hex
            body = b""
            for name, value in fields.items():
                body += (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                    f"{value}\r\n"
                ).encode()
            for name, (filename, data) in files.items():
                body += (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                    f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                ).encode()
                body += data + b"\r\n"
            body += f"--{boundary}--\r\n".encode()
            content_type = f"multipart/form-data; boundary={boundary}"
        else:
            body = urllib.parse.urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310
        request.add_header("Content-Type", content_type)
        return self._send(request)


def browser_of(person) -> Browser:
    """Signed in (password and second factor) once; the session is in the database."""
    client = signed_in_client(person)
    return Browser({name: morsel.value for name, morsel in client.cookies.items()})


def at_once(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads started together; their results in order."""
    results: list[object] = [None] * len(calls)
    failures: list[BaseException] = []
    start = threading.Barrier(len(calls))

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            start.wait()
            results[index] = call()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


class Server:
    """`genchi serve` (gunicorn and its job worker) on its own port, as on its own host."""

    def __init__(self, name: str, data: Path, own_disk: Path, database: str) -> None:
        self.name = name
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = own_disk / f"server-{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "GENCHI_TEST_DATABASE_NAME": database,
            "GENCHI_DATA_DIR": str(data),  # the shared data folder
            "GENCHI_STATIC_ROOT": str(own_disk / f"static-{name}"),  # this host's disk
            "GENCHI_JOB_HEARTBEAT_SECONDS": "0.2",
            "PYTHONPATH": str(ROOT),
        }
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "genchi",
                    "serve",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "2",
                ],  # fmt: skip
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def up(self) -> bool:
        assert self.process.poll() is None, self.output()[-3000:]
        try:
            with urllib.request.urlopen(f"{self.url}/health/", timeout=2) as reply:  # noqa: S310
                return reply.status == 200 and "Starting worker" in self.output()
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(10)


@dataclass
class World:
    servers: list[Server]
    people: dict
    contract: object
    ward_staff: Browser
    manager: Browser
    data: Path
    expected_cases: int = 0
    batches: list[Batch] = field(default_factory=list)
    packages: list[bytes] = field(default_factory=list)

    def why(self) -> str:
        return "\n".join(f"--- {s.name}\n{s.output()[-3000:]}" for s in self.servers)


def _finished(model, pk: int):
    row = model.objects.filter(pk=pk).first()
    if row and row.job_state in (JobState.SUCCEEDED, JobState.FAILED, JobState.REFUSED):
        return row
    return None


def import_lists(world: World) -> None:
    """Two lists uploaded at once, one to each server; each committed on the other one."""
    a, b = world.servers
    lists = [to_csv_bytes(generate(n, seed=100 + i), encoding="cp932") for i, n in enumerate(ROWS)]

    def upload(server: Server, data: bytes, name: str) -> int:
        reply = world.ward_staff.post(
            f"{server.url}/intake/import/",
            {"contract": str(world.contract.pk), "encoding": "", "sheet": "", "preset": ""},
            files={"file": (name, data)},
        )
        assert reply.status == 302, reply.text[:2000]
        return int(re.search(r"/intake/import/(\d+)/", reply.location)[1])

    runs = at_once(lambda: upload(a, lists[0], "a.csv"), lambda: upload(b, lists[1], "b.csv"))
    for run_id in runs:
        run = wait_for(lambda r=run_id: _finished(ImportRun, r), JOB_TIMEOUT, world.why)
        assert run.status == ImportRun.Status.CHECKED and not run.error_rows, run.message

    def commit(server: Server, run_id: int) -> None:
        reply = world.ward_staff.post(
            f"{server.url}/intake/import/{run_id}/commit/",
            {},
            page=f"{server.url}/intake/import/{run_id}/",
        )
        assert reply.status == 302, reply.text[:2000]

    at_once(lambda: commit(b, runs[0]), lambda: commit(a, runs[1]))
    for run_id in runs:
        wait_for(
            lambda r=run_id: ImportRun.objects.filter(
                pk=r, status=ImportRun.Status.COMMITTED
            ).exists(),
            JOB_TIMEOUT,
            world.why,
        )
    world.expected_cases = sum(ROWS)
    assert Case.objects.filter(contract=world.contract).count() == world.expected_cases


def create_batches(world: World) -> None:
    """Two batches created at once on the two servers take distinct numbers."""

    def create(server: Server, title: str) -> int:
        reply = world.ward_staff.post(
            f"{server.url}/batches/new/",
            {"contract": str(world.contract.pk), "title": title, "priority": "amount_desc"},
            page=f"{server.url}/batches/",
        )
        assert reply.status == 302, reply.text[:2000]
        return int(re.search(r"/batches/(\d+)/", reply.location)[1])

    ids = at_once(*(lambda s=s: create(s, f"同時 {s.name}") for s in world.servers))
    batches = [Batch.objects.get(pk=pk) for pk in ids]
    assert sorted(b.number for b in batches) == [1, 2]
    staff = world.people[Role.WARD_STAFF]
    for batch in batches:
        intake.add_cases(batch, intake.eligible_cases(world.contract), limit=40)
        intake.seal_batch(batch, user=staff)
    world.batches = batches


def export_batches(world: World) -> None:
    """Both batches exported at once, one through each server, each on its own stick;
    each package downloaded from the server that did not write it."""
    admin = world.people[Role.WARD_ADMIN]
    sticks = [
        ledger.register_stick(
            world.contract.ward,
            label=f"USB-{s.name}",
            serial=f"SN-{s.name}",
            capacity_gb=16,
            by=admin,
        )  # fmt: skip
        for s in world.servers
    ]

    def export(server: Server, batch: Batch, stick) -> int:
        reply = world.ward_staff.post(
            f"{server.url}/handover/export/",
            {"batch": str(batch.pk), "stick": str(stick.pk), "passphrase": "", "passphrase2": ""},
        )
        assert reply.status == 302, reply.text[:3000]
        return int(re.search(r"/handover/jobs/(\d+)/", reply.location)[1])

    jobs = at_once(
        *(
            lambda s=s, b=b, k=k: export(s, b, k)
            for s, b, k in zip(world.servers, world.batches, sticks, strict=True)
        )
    )
    for job_id, other in zip(jobs, reversed(world.servers), strict=True):
        job = wait_for(lambda j=job_id: _finished(HandoverJob, j), JOB_TIMEOUT, world.why)
        assert job.job_state == JobState.SUCCEEDED, job.job_message
        reply = world.ward_staff.get(f"{other.url}/handover/packages/{job.package_id}/download/")
        assert reply.status == 200, reply.text[:2000]
        world.packages.append(reply.body)


def contractor_imports(world: World) -> None:
    """The contractor imports both packages at once, one through each server."""

    def upload(server: Server, data: bytes, number: int) -> int:
        reply = world.manager.post(
            f"{server.url}/handover/import/",
            {
                "passphrase": "",
                "giver_name": "区 職員",
                "stick_label": f"USB-{number}",
                "handed_at": "",
            },  # fmt: skip
            files={"package": (f"p{number}.genchi.age", data)},
        )
        assert reply.status == 302, reply.text[:3000]
        return int(re.search(r"/handover/jobs/(\d+)/", reply.location)[1])

    jobs = at_once(
        *(
            lambda s=s, d=d, i=i: upload(s, d, i)
            for i, (s, d) in enumerate(zip(reversed(world.servers), world.packages, strict=True))
        )
    )
    for job_id in jobs:
        job = wait_for(lambda j=job_id: _finished(HandoverJob, j), JOB_TIMEOUT, world.why)
        assert job.job_state == JobState.SUCCEEDED, job.job_message


VISITED = 12  # cases visited through the office form, half on each server


def record_visits(world: World) -> None:
    """Visits with a photo recorded at once through both servers (the office form), one
    case's visit sent to both at the same moment; then each photo read back from the
    server that did not store it (one file store)."""
    from genchi.fieldwork.models import SurveyCase, Visit, VisitPhoto
    from genchi.fieldwork.services import assign_cases
    from tests.fieldwork.visits import form_data, sample

    code = world.contract.code
    refs = list(
        SurveyCase.objects.filter(contract=world.contract)
        .order_by("id")
        .values_list("case_ref", flat=True)[:VISITED]
    )
    assign_cases(world.contract, refs, world.people[Role.SURVEYOR], by=world.people[Role.MANAGER])
    photo = sample()

    def visit(server: Server, ref: str) -> None:
        url = f"{server.url}/fieldwork/cases/{code}/{ref}/visits/new/"
        reply = world.manager.post(url, form_data(), files={"photos": ("house.jpg", photo)})
        assert reply.status == 302, reply.text[:3000]

    a, b = world.servers
    at_once(
        *(lambda s=(a, b)[i % 2], r=ref: visit(s, r) for i, ref in enumerate(refs)),
        lambda: visit(a, refs[0]),
        lambda: visit(b, refs[0]),
    )
    visits = Visit.objects.filter(case__contract=world.contract)
    assert visits.count() == VISITED + 2
    numbers = sorted(visits.filter(case__case_ref=refs[0]).values_list("number", flat=True))
    assert numbers == [1, 2, 3], numbers
    photos = list(VisitPhoto.objects.filter(visit__in=visits).values_list("pk", flat=True))
    assert len(photos) == VISITED + 2
    for i, pk in enumerate(photos):
        reply = world.manager.get(f"{world.servers[i % 2].url}/fieldwork/photos/{pk}/")
        assert reply.status == 200 and reply.body[:2] == b"\xff\xd8", reply.text[:500]


# The work driven through both servers, in order; each phase takes the World.
PHASES: tuple[Callable[[World], None], ...] = (
    import_lists,
    create_batches,
    export_batches,
    contractor_imports,
    record_visits,
)


@pytest.fixture
def servers(
    _audit_log_flushable,
    transactional_db,
    settings,
    tmp_path,
    tmp_path_factory,
    people,
    keys_exchanged,  # noqa: F811 - the fixture imported above
):
    """Two servers on this test's database and data folder (its keys, anchor, files)."""
    settings.DATA_DIR = tmp_path
    # One installation: every host reads the same secret key from the shared data folder
    # (here, the one this test process signs sessions with).
    secret = tmp_path / "secret_key"
    secret.write_text(settings.SECRET_KEY)
    secret.chmod(0o600)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.GENCHI_JOBS_ENQUEUE_ON_COMMIT = True
    hosts = tmp_path_factory.mktemp("hosts")  # what each host keeps on its own disk
    database = str(connection.settings_dict["NAME"])
    started = [Server(name, tmp_path, hosts, database) for name in "AB"]
    try:
        wait_for(
            lambda: all(s.up() for s in started), 90, lambda: "\n".join(s.output() for s in started)
        )
        yield started
    finally:
        for server in started:
            server.stop()


def test_two_servers_and_two_workers_do_the_same_work_at_once(servers, people, contract):
    world = World(
        servers=servers,
        people=people,
        contract=contract,
        ward_staff=browser_of(people[Role.WARD_STAFF]),
        manager=browser_of(people[Role.MANAGER]),
        data=Path(settings.DATA_DIR),
    )
    for phase in PHASES:
        phase(world)

    # Every job ran once, to its end (an import run's row had two: its check and its
    # commit; a handover's one); every task was taken by one worker, once.
    runs = list(ImportRun.objects.values_list("job_state", "job_attempts"))
    handovers = list(HandoverJob.objects.values_list("job_state", "job_attempts"))
    assert runs == [(JobState.SUCCEEDED, 2)] * len(ROWS), runs
    assert handovers == [(JobState.SUCCEEDED, 1)] * 4, handovers
    from django_tasks_db.models import DBTaskResult

    def tasks_ended():  # a worker marks its task once the job's transaction committed
        tasks = list(DBTaskResult.objects.values_list("status", flat=True))
        return tasks if "RUNNING" not in tasks and "READY" not in tasks else None

    tasks = wait_for(tasks_ended, JOB_TIMEOUT, world.why)
    assert tasks == ["SUCCESSFUL"] * (2 * len(ROWS) + 4), tasks
    # Every row is there, once.
    assert Case.objects.filter(contract=contract).count() == world.expected_cases
    sent = sum(b.items.count() for b in world.batches)
    received = Package.objects.filter(direction=Package.Direction.INCOMING).count()
    assert received == len(world.batches) and sent == 80
    # No slip number twice (per holder), and each handover has its slips.
    numbers = list(HandoverSlip.objects.values_list("holder_id", "number"))
    assert len(numbers) == len(set(numbers)) >= 4
    # The log: chain, anchor file (written by four processes) and checkpoints intact.
    result = chain.verify()
    assert result.ok, [p.text for p in result.problems]
    assert result.checked["anchor"] == result.count > 0
    assert result.checked["checkpoints"] >= 4
