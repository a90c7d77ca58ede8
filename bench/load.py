"""Load test (issue 18 item 5): `genchi serve` on PostgreSQL with 30 office users browsing
case lists, cases and batches while 20 tablets sync visits with photos.

    .venv/bin/python bench/load.py                    # about 4 min: build, serve, load, check
    .venv/bin/python bench/load.py --duration 180 --office 30 --tablets 20
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/load.py

Bounded and local: every request goes to 127.0.0.1, the run stops by itself after
`--duration` seconds (and every request has a timeout), and the database and data folder
it made are removed at the end (`--keep` keeps them).

1. Build: a new PostgreSQL database and data folder; `genchi demo --no-serve` (the demo's
   ward, contractor, 497 received cases, areas and plan); then, through the services,
   office people up to `--office` (ward staff, contractor handlers) with second factors,
   surveyors up to `--tablets` (trained, pledged, designated), the demo's cases assigned to
   them, and one tablet enrolled per surveyor (a P-256 key made here, as WebCrypto makes
   one on the device).
2. Serve: `genchi serve` (gunicorn, workers by cores, and its job worker), as production.
3. Load, for `--duration` seconds: each office person signs in (password and second
   factor) at a random moment of the first 30 s (`--arrivals`; 0: all at the same
   instant) and opens pages one after another, 2–8 s apart (`--think`; reading a page):
   the case lists and case pages of their side, batches, handovers. Each tablet syncs
   twice, at random moments in the first and the second third of the run (surveyors come
   back to the office through the afternoon), signing in with the device's signature and
   the surveyor's password just before the first (with `--arrivals 0`: at the start),
   as the app does: sync down, then 10 visits with 2 photos each (about 300 KB, as the
   tablet's camera makes them) sent up in batches (`genchi/tablet/batch.py`: several
   visits with their photos per request, up to 8 MB: here one or two requests).
4. Check: no error; once the worker has recorded what the tablets sent (the time it
   still needed after the load is printed), every visit and photo stored exactly once
   (by the tablet's client ids); `genchi audit verify` (the log's chain and anchor)
   passes.

Figures are printed beside the targets: p95 ≤ 500 ms for pages, ≤ 3 s per sync of 10
visits with 20 photos.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import io
import json
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from genchi.tablet import batch  # pure Python: the body the app sends

ROOT = Path(__file__).resolve().parent.parent
PAGE_TARGET_MS = 500
SYNC_TARGET_S = 3.0
VISITS_PER_SYNC = 10
PHOTOS_PER_VISIT = 2
PASSWORD = "load horse battery staple"  # noqa: S105 - a throwaway bench installation
REQUEST_TIMEOUT = 60
# Seconds a person spends on a page before the next click (reading a case, filling a
# search): 2–8 s, 5 s on average. `--think 0.5 2` is a person clicking without reading.
THINK = (2.0, 8.0)
# Office people sign in as they arrive, over the first half minute (one a second for 30);
# a tablet signs in at the office just before it syncs (the app: sign in, then sync).
ARRIVALS_S = 30.0
SIGN_IN_LEAD_S = 2.0


# --- building (runs in a child process with Django set up) ---------------------------


def prepare(office: int, tablets: int, out: Path) -> None:
    """Add the people, assignments and tablets to the demo installation; write what the
    load client needs (usernames, TOTP keys, device keys, URLs) to `out`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genchi.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import datetime as dt

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.utils import timezone

    from genchi.accounts.models import Role, TOTPDevice
    from genchi.fieldwork.models import SurveyCase
    from genchi.fieldwork.services import assign_cases
    from genchi.intake.models import Batch, Case
    from genchi.parties import services as parties
    from genchi.parties.demo import CONTRACT_CODE, _qualify
    from genchi.parties.models import Contract, Designation, Organisation
    from genchi.tablet import services as tablet_services

    contract = Contract.objects.get(code=CONTRACT_CODE)
    ward, contractor = contract.ward, contract.contractor
    manager = contract.contractor.people.get(username="manager")
    admin = ward.people.get(username="ward-admin")
    today = timezone.localdate()

    def person(username: str, org: Organisation, role: str):
        made = parties.create_person(
            username=username, full_name=f"負荷 {username}", organisation=org, role=role,
            password=PASSWORD, must_change_password=False,
        )  # fmt: skip
        device = TOTPDevice.objects.create(user=made, name="load", confirmed=True)
        return made, device

    people = []
    for i in range(office):
        ward_side = i % 2 == 0
        org, role = (ward, Role.WARD_STAFF) if ward_side else (contractor, Role.HANDLER)
        made, device = person(f"load-office-{i:02d}", org, role)
        if not ward_side:
            _qualify(made, today - dt.timedelta(days=1))
            parties.designate(contract=contract, person=made, role=Designation.Role.HANDLER,
                              starts_on=contract.starts_on, by=admin)  # fmt: skip
        people.append({"username": made.username, "side": "ward" if ward_side else "contractor",
                       "totp": device.bin_key.hex(), "step": device.step, "digits": device.digits})  # fmt: skip

    # Cases nobody has visited yet (the demo's visits stay with their surveyors).
    refs = list(
        SurveyCase.objects.filter(contract=contract, visit_count=0)
        .order_by("id")
        .values_list("case_ref", flat=True)
    )
    per = len(refs) // tablets
    devices = []
    for i in range(tablets):
        surveyor, _device = person(f"load-surveyor-{i:02d}", contractor, Role.SURVEYOR)
        _qualify(surveyor, today - dt.timedelta(days=1))
        parties.designate(contract=contract, person=surveyor, role=Designation.Role.SURVEYOR,
                          starts_on=contract.starts_on, by=admin)  # fmt: skip
        mine = refs[i * per : (i + 1) * per]
        assign_cases(contract, mine, surveyor, by=manager)
        key = ec.generate_private_key(ec.SECP256R1())
        spki = base64.b64encode(
            key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).decode()
        enrolment = tablet_services.start_enrolment(spki)
        tablet = tablet_services.confirm_enrolment(
            enrolment.code, contract=contract, surveyor=surveyor, label=f"L-{i:02d}", by=manager
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        devices.append({"device": str(tablet.pk), "username": surveyor.username,
                        "key": pem, "cases": mine})  # fmt: skip

    ward_refs = list(Case.objects.filter(contract=contract).order_by("id")
                     .values_list("ref", flat=True)[:200])  # fmt: skip
    batches = list(Batch.objects.filter(contract=contract).values_list("id", flat=True))
    out.write_text(json.dumps({
        "contract": contract.code,
        "office": people,
        "tablets": devices,
        "ward_refs": ward_refs,
        "contractor_refs": refs[:200],
        "batches": batches,
    }))  # fmt: skip


# --- the load client (no Django: plain HTTP, as a browser and a tablet speak) ---------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Reply:
    status: int
    location: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Session:
    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def send(self, path: str, *, data: bytes | None = None, headers: dict | None = None) -> Reply:
        request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
            self.base + path, data=data, method="POST" if data is not None else "GET"
        )
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=REQUEST_TIMEOUT) as reply:
                status, got, body = reply.status, reply.headers, reply.read()
        except urllib.error.HTTPError as reply:
            status, got, body = reply.code, reply.headers, reply.read()
        for raw in got.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return Reply(status, got.get("Location", ""), body)

    def post_form(self, path: str, fields: dict[str, str]) -> Reply:
        page = self.send(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token[1] if token else "",
                                       **fields}).encode()  # fmt: skip
        return self.send(path, data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Referer": self.base + path,
        })  # fmt: skip


def totp(key_hex: str, step: int, digits: int, at: float | None = None) -> str:
    """RFC 6238, as the person's authenticator app computes it."""
    counter = int((at or time.time()) // step)
    digest = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


@dataclass
class Figures:
    pages: dict[str, list[float]] = field(default_factory=dict)
    syncs: list[float] = field(default_factory=list)
    downs: list[float] = field(default_factory=list)  # of each sync: the sync down
    ups: list[float] = field(default_factory=list)  # and the batch requests
    requests: list[int] = field(default_factory=list)  # batch requests per sync
    signins: dict[str, list[float]] = field(default_factory=dict)  # office / tablet → seconds
    errors: list[str] = field(default_factory=list)
    visits: dict[str, dict[str, int]] = field(default_factory=dict)  # device → visit → photos
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent(self, device: str, visit: str, photos: int) -> None:
        with self.lock:
            self.visits.setdefault(device, {})[visit] = photos

    def page(self, label: str, ms: float) -> None:
        with self.lock:
            self.pages.setdefault(label, []).append(ms)

    def signed_in(self, side: str, seconds: float) -> None:
        with self.lock:
            self.signins.setdefault(side, []).append(seconds)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text[:300])


def office_person(
    base: str,
    who: dict,
    world: dict,
    deadline: float,
    figures: Figures,
    think=THINK,
    arrives: float = 0.0,
) -> None:
    time.sleep(arrives)  # people come in over the first minute, not in one instant
    session = Session(base)
    began = time.perf_counter()
    reply = session.post_form("/signin/", {"username": who["username"], "password": PASSWORD})
    if reply.status != 302:
        figures.error(f"{who['username']}: sign-in {reply.status}")
        return
    reply = session.post_form("/signin/second-factor/",
                              {"code": totp(who["totp"], who["step"], who["digits"])})  # fmt: skip
    if reply.status != 302:
        figures.error(f"{who['username']}: second factor {reply.status}")
        return
    figures.signed_in("office", time.perf_counter() - began)
    rng = random.Random(who["username"])
    code = world["contract"]
    if who["side"] == "ward":
        pages = [
            ("case list", lambda: "/cases/"),
            ("case list, prefecture", lambda: "/cases/?pref=東京都"),
            ("case page", lambda: f"/cases/{rng.choice(world['ward_refs'])}/"),
            ("batches", lambda: "/batches/"),
            ("batch page", lambda: f"/batches/{rng.choice(world['batches'])}/"),
            ("handovers", lambda: "/handover/"),
        ]
    else:
        pages = [
            ("received cases", lambda: "/fieldwork/cases/"),
            ("received cases, status", lambda: "/fieldwork/cases/?status=assigned"),
            ("received case page",
             lambda: f"/fieldwork/cases/{code}/{rng.choice(world['contractor_refs'])}/"),
            ("progress", lambda: f"/fieldwork/progress/{code}/"),
            ("handovers", lambda: "/handover/"),
        ]  # fmt: skip
    while time.monotonic() < deadline:
        label, url = rng.choice(pages)
        path = urllib.parse.quote(url(), safe="/?=&")
        started = time.perf_counter()
        try:
            reply = session.send(path)
        except OSError as exc:
            figures.error(f"{label}: {exc}")
            continue
        elapsed = (time.perf_counter() - started) * 1000
        if reply.status != 200:
            figures.error(f"{label} {path}: {reply.status}")
        else:
            figures.page(label, elapsed)
        time.sleep(rng.uniform(*think))


class Device:
    """What the tablet app does with WebCrypto, in Python: every request signed with the
    device's P-256 key over method, path, time, nonce and the body's SHA-256."""

    def __init__(self, base: str, pem: str, device_id: str) -> None:
        from cryptography.hazmat.primitives import serialization

        self.base = base
        self.key = serialization.load_pem_private_key(pem.encode(), password=None)
        self.device_id = device_id
        self.token = ""

    def post(self, path: str, body: bytes, kind: str = "application/json") -> dict:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        stamp, nonce = str(int(time.time() * 1000)), secrets.token_hex(16)
        text = "\n".join(["POST", path, stamp, nonce, hashlib.sha256(body).hexdigest()])
        r, s = decode_dss_signature(self.key.sign(text.encode(), ec.ECDSA(hashes.SHA256())))
        headers = {
            "Content-Type": kind,
            "X-Tablet-Time": stamp,
            "X-Tablet-Nonce": nonce,
            "X-Tablet-Device": self.device_id,
            "X-Tablet-Signature": base64.b64encode(
                r.to_bytes(32, "big") + s.to_bytes(32, "big")
            ).decode(),
        }
        if self.token:
            headers["X-Tablet-Token"] = self.token
        reply = Session(self.base).send(path, data=body, headers=headers)
        if reply.status != 200:
            raise RuntimeError(f"{path.split('/')[4]}: {reply.status} {reply.text[:200]}")
        return json.loads(reply.body)

    def post_json(self, path: str, data: dict) -> dict:
        return self.post(path, json.dumps(data).encode())


def photos(count: int) -> list[bytes]:
    """About 300 KB JPEGs (1600 × 1200, textured), as the app's camera hands them in."""
    from PIL import Image, ImageDraw

    made = []
    for seed in range(count):
        image = Image.new("RGB", (1600, 1200), (180 + seed % 50, 200, 210))
        draw = ImageDraw.Draw(image)
        draw.rectangle([100 + (seed * 37) % 600, 200, 1400, 1100], fill=(210, 190, 170))
        draw.ellipse([(seed * 53) % 1200, 50, (seed * 53) % 1200 + 300, 350], fill=(40, 90, 150))
        noise = Image.effect_noise((1600, 1200), 30).convert("RGB")
        out = io.BytesIO()
        Image.blend(image, noise, 0.2).save(out, "JPEG", quality=80)
        made.append(out.getvalue())
    return made


def _visit_fields(down: dict) -> dict:
    """A visit where nobody answered and a slip was posted; the outcome is one the
    server's rules (sent at sync) allow without an interview."""
    outcomes = next(f for f in down["form"] if f["name"] == "outcome")["choices"]
    refused = {
        value
        for rule in down["rules"]
        if rule["field"] == "outcome"
        for cond in rule["when"]
        if cond["field"] == "outcome"
        for value in cond["values"]
    }
    return {
        "visited_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "position_source": "none", "building_type": "detached", "nameplate": "taxpayer",
        "mailbox_name": "taxpayer", "mail_piled": "no", "electricity": "moving",
        "gas": "unknown", "water": "moving", "lights": "yes", "washing": "yes",
        "curtains": "yes", "vacancy_signs": "no", "answered": "no", "interviewee": "none",
        "contact_slip": "posted", "tenure": "unknown",
        "outcome": next(value for value, _label in outcomes if value not in refused),
        "notes": "郵便受けに連絡票を投函した。",
    }  # fmt: skip


def tablet_syncs(base: str, tablet: dict, starts: list[float], pictures: list[bytes],
                 figures: Figures, sign_in_at: float = 0.0) -> None:  # fmt: skip
    """Sign in, then at each start time one sync: down, then 10 visits with 2 photos."""
    origin = time.monotonic()
    device = Device(base, tablet["key"], tablet["device"])
    rng = random.Random(tablet["device"])
    done: set[str] = set()
    time.sleep(sign_in_at)
    began = time.perf_counter()
    try:
        challenge = device.post_json("/tablet/api/challenge/", {"device": device.device_id})
        answer = device.post_json("/tablet/api/signin/", {
            "username": tablet["username"], "password": PASSWORD,
            "challenge": challenge["challenge"],
        })  # fmt: skip
        device.token = answer["token"]
    except (OSError, RuntimeError, KeyError) as exc:
        figures.error(f"{tablet['username']} sign-in: {exc}")
        return
    figures.signed_in("tablet", time.perf_counter() - began)
    for start in starts:
        time.sleep(max(0.0, start - (time.monotonic() - origin)))
        began = time.perf_counter()
        try:
            down = device.post_json("/tablet/api/sync/down/", {"held": []})
            down_s = time.perf_counter() - began
            fields = _visit_fields(down)
            refs = [c["ref"] for c in down["cases"] if c["ref"] not in done][:VISITS_PER_SYNC]
            visits, parts = [], {}
            for ref in refs:
                visit = secrets.token_hex(16)
                listed = []
                for data in rng.sample(pictures, PHOTOS_PER_VISIT):
                    listed.append({"id": secrets.token_hex(16),
                                   "sha256": hashlib.sha256(data).hexdigest()})  # fmt: skip
                    parts[(visit, listed[-1]["id"])] = data
                visits.append({"visit": visit, "case": ref, "fields": fields, "photos": listed})
            # As the app: the visits and their photos in requests up to the server's limits.
            answers = {}
            requests = batch.pack(visits, parts)
            for batch_visits, batch_parts in requests:
                body, kind = batch.encode(batch_visits, batch_parts)
                for answer in device.post("/tablet/api/sync/up/", body, kind)["visits"]:
                    answers[answer["visit"]] = answer
            for item in visits:
                # "received": every part is on the server; it is recorded in the background.
                answer = answers.get(item["visit"], {})
                if answer.get("state") not in ("received", "recorded"):
                    figures.error(f"{tablet['username']} visit {item['case']}: {answer}")
                figures.sent(tablet["device"], item["visit"], len(item["photos"]))
                done.add(item["case"])
        except (OSError, RuntimeError, KeyError) as exc:
            figures.error(f"{tablet['username']} sync: {exc}")
            continue
        with figures.lock:
            figures.syncs.append(time.perf_counter() - began)
            figures.downs.append(down_s)
            figures.ups.append(figures.syncs[-1] - down_s)
            figures.requests.append(len(requests))


STORED = """
import json, sys
import django
django.setup()
from genchi.fieldwork.models import VisitPhoto
from genchi.tablet.models import Upload
sent = json.load(open(sys.argv[1]))
uploads = Upload.objects.filter(device_id__in=[int(d) for d in sent])
found = {(str(u.device_id), u.client_id): u for u in uploads}
expected = {(d, v): n for d, visits in sent.items() for v, n in visits.items()}
missing = [k for k in expected if k not in found or found[k].visit_id is None]
visits = [u.visit_id for u in uploads if u.visit_id]
photos = VisitPhoto.objects.filter(visit_id__in=visits).count()
print(json.dumps({"visits sent": len(expected), "visits stored": len(set(visits)),
                  "uploads": uploads.count(), "missing": len(missing),
                  "photos sent": sum(expected.values()), "photos stored": photos}))
"""


WAITING = """
import django
django.setup()
from genchi.tablet.models import Upload
print(Upload.objects.filter(state__in=["received", "waiting"]).count())
"""


def _drain(env: dict, limit: float = 300) -> float | None:
    """Seconds until the worker has recorded every visit received (None: not in `limit`)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        left = subprocess.run([sys.executable, "-c", WAITING], env=env, cwd=ROOT,
                              capture_output=True, text=True)  # fmt: skip
        if left.returncode == 0 and left.stdout.strip() == "0":
            return round(time.monotonic() - started, 1)
        time.sleep(2)
    return None


def _stored(env: dict, figures: Figures, folder: Path) -> dict:
    sent = folder / "sent.json"
    sent.write_text(json.dumps(figures.visits))
    result = subprocess.run([sys.executable, "-c", STORED, str(sent)], env=env, cwd=ROOT,
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode != 0:
        return {"error": result.stderr[-1000:]}
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=120, help="seconds of load")
    parser.add_argument("--office", type=int, default=30)
    parser.add_argument("--tablets", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database and folder")
    parser.add_argument("--think", type=float, nargs=2, default=THINK, metavar=("MIN", "MAX"),
                        help="seconds on a page before the next (default 2 8)")  # fmt: skip
    parser.add_argument("--arrivals", type=float, default=ARRIVALS_S,
                        help="office people sign in over this many seconds; tablets just before "
                             "their first sync (0: everybody at once)")  # fmt: skip
    parser.add_argument("--_prepare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._prepare:
        prepare(args.office, args.tablets, Path(args._prepare))
        return
    run(args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args) -> None:
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base_url.startswith("postgres"):
        sys.exit("bench/load.py needs PostgreSQL (DATABASE_URL=postgres://…)")
    name = f"genchi_load_{uuid.uuid4().hex[:8]}"
    database_url = base_url.rsplit("/", 1)[0] + "/" + name
    parsed = urllib.parse.urlparse(database_url)
    pg = ["-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 5432),
          "-U", parsed.username or "postgres"]  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="genchi-load-"))
    env = {**os.environ, "DATABASE_URL": database_url, "GENCHI_DATA_DIR": str(folder / "data"),
           "DJANGO_SETTINGS_MODULE": "genchi.settings", "PYTHONPATH": str(ROOT)}  # fmt: skip
    subprocess.run(["createdb", *pg, name], check=True)
    server = None
    try:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "genchi", "demo", "--no-serve"], env=env,
                       cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        world_file = folder / "world.json"
        subprocess.run([sys.executable, __file__, "--office", str(args.office), "--tablets",
                        str(args.tablets), "--_prepare", str(world_file)], env=env, cwd=ROOT,
                       check=True)  # fmt: skip
        world = json.loads(world_file.read_text())
        print(f"built in {time.perf_counter() - started:.0f} s: {len(world['office'])} office "
              f"people, {len(world['tablets'])} tablets")  # fmt: skip
        port = _free_port()
        log = (folder / "server.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "genchi", "serve", "--bind", f"127.0.0.1:{port}"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        _wait_up(base, server)
        figures = load(base, world, args.duration, tuple(args.think), args.arrivals)
        drained = _drain(env)
        stored = _stored(env, figures, folder)
        stored["background drained after load (s)"] = drained
        verify = subprocess.run([sys.executable, "-m", "genchi", "audit", "verify"], env=env,
                                cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        report(args, figures, stored, verify)
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, 9)
        if not args.keep:
            subprocess.run(["dropdb", "--if-exists", *pg, name], check=False)
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept: database {name}, folder {folder}")


def _wait_up(base: str, server: subprocess.Popen) -> None:
    for _ in range(120):
        if server.poll() is not None:
            sys.exit("genchi serve stopped while starting")
        try:
            with urllib.request.urlopen(base + "/health/", timeout=2) as reply:  # noqa: S310
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("genchi serve did not start in 60 s")


def load(
    base: str, world: dict, duration: int, think=THINK, arrivals: float = ARRIVALS_S
) -> Figures:
    """`arrivals`: office people sign in at random moments over that many seconds, and a
    tablet signs in just before its first sync, as the app does; 0: everybody signs in at
    the same instant (the worst case, `--arrivals 0`)."""
    figures = Figures()
    deadline = time.monotonic() + duration
    rng = random.Random(7)
    threads = [
        threading.Thread(
            target=office_person,
            args=(base, who, world, deadline, figures, think, rng.uniform(0, arrivals)),
        )
        for who in world["office"]
    ]
    pictures = photos(40)
    for tablet in world["tablets"]:
        # Two syncs each, at random moments in the first and the second third of the run.
        starts = [rng.uniform(0, duration * 0.35), rng.uniform(duration * 0.35, duration * 0.7)]
        sign_in_at = max(0.0, starts[0] - SIGN_IN_LEAD_S) if arrivals else 0.0
        threads.append(threading.Thread(
            target=tablet_syncs,
            args=(base, tablet, starts, pictures, figures, sign_in_at)))  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + REQUEST_TIMEOUT * 3)
    return figures


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(args, figures: Figures, stored: dict, verify: subprocess.CompletedProcess) -> None:
    print()
    print(f"load: {args.office} office people ({args.think[0]:g}–{args.think[1]:g} s a page, "
          f"signing in over {args.arrivals:g} s), "
          f"{args.tablets} tablets, {args.duration} s "
          f"(genchi serve on PostgreSQL, {os.cpu_count()} cores)")  # fmt: skip
    print(f"{'page':<28}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  target p95 ≤ "
          f"{PAGE_TARGET_MS} ms")  # fmt: skip
    every = []
    for label, values in sorted(figures.pages.items()):
        every += values
        print(f"{label:<28}{len(values):>6}{statistics.median(values):>9.0f}"
              f"{_percentile(values, 95):>9.0f}{max(values):>9.0f}")  # fmt: skip
    if every:
        p95 = _percentile(every, 95)
        print(f"{'all pages':<28}{len(every):>6}{statistics.median(every):>9.0f}{p95:>9.0f}"
              f"{max(every):>9.0f}  {'met' if p95 <= PAGE_TARGET_MS else 'MISSED'}")  # fmt: skip
    if figures.syncs:
        p95 = _percentile(figures.syncs, 95)
        print(f"sync of {VISITS_PER_SYNC} visits + {VISITS_PER_SYNC * PHOTOS_PER_VISIT} photos: "
              f"n={len(figures.syncs)} p50 {statistics.median(figures.syncs):.2f} s, p95 "
              f"{p95:.2f} s, max {max(figures.syncs):.2f} s  target p95 ≤ {SYNC_TARGET_S} s  "
              f"{'met' if p95 <= SYNC_TARGET_S else 'MISSED'}")  # fmt: skip
        for label, values in (("sync down", figures.downs), ("sync up", figures.ups)):
            print(f"  of which {label}: p50 {statistics.median(values):.2f} s, "
                  f"p95 {_percentile(values, 95):.2f} s, max {max(values):.2f} s")  # fmt: skip
        print(f"  batch requests per sync: {sorted(set(figures.requests))}")
    for side, values in sorted(figures.signins.items()):
        print(f"sign-in, {side} (password, Argon2): n={len(values)} p50 "
              f"{statistics.median(values):.2f} s, p95 {_percentile(values, 95):.2f} s, "
              f"max {max(values):.2f} s")  # fmt: skip
    print(f"errors: {len(figures.errors)}")
    for text in figures.errors[:10]:
        print(f"  {text}")
    print(f"stored: {stored}")
    print(f"audit verify: {'ok' if verify.returncode == 0 else 'FAILED'}")
    if verify.returncode != 0:
        print(verify.stdout[-2000:], verify.stderr[-2000:])


if __name__ == "__main__":
    main()
