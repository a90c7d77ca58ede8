from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.test import Client

from genchi.accounts.models import Role
from genchi.fieldwork.services import assign_cases
from tests.conftest import make_person
from tests.fieldwork.world import receive
from tests.transfer.conftest import keys_exchanged  # noqa: F401 - fixture


class FakeTablet:
    """What the browser does with WebCrypto: a P-256 key pair, requests signed over
    method, path, time, nonce and the body's SHA-256, signatures as raw r||s."""

    def __init__(self, client: Client | None = None, ip: str = "127.0.0.1"):
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.spki = base64.b64encode(der).decode()
        self.client = client or Client()
        self.ip = ip
        self.device_id = ""
        self.token = ""

    def sign(self, text: bytes) -> str:
        r, s = decode_dss_signature(self.key.sign(text, ec.ECDSA(hashes.SHA256())))
        return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()

    def headers(self, path: str, body: bytes, *, nonce: str | None = None, when=None) -> dict:
        stamp = str(int((when or time.time()) * 1000))
        nonce = nonce or secrets.token_hex(16)
        text = "\n".join(["POST", path, stamp, nonce, hashlib.sha256(body).hexdigest()])
        headers = {
            "HTTP_X_TABLET_TIME": stamp,
            "HTTP_X_TABLET_NONCE": nonce,
            "HTTP_X_TABLET_SIGNATURE": self.sign(text.encode()),
            "REMOTE_ADDR": self.ip,
        }
        if self.device_id:
            headers["HTTP_X_TABLET_DEVICE"] = str(self.device_id)
        if self.token:
            headers["HTTP_X_TABLET_TOKEN"] = self.token
        return headers

    def post(self, path: str, data: dict, *, signed: bool = True, **extra):
        body = json.dumps(data).encode()
        headers = self.headers(path, body, **extra) if signed else {"REMOTE_ADDR": self.ip}
        return self.client.post(path, body, content_type="application/json", **headers)

    def enrol(self) -> str:
        response = self.post("/tablet/api/enrol/", {"public_key": self.spki})
        assert response.status_code == 200, response.content
        return response.json()["code"]

    def sign_in(self, username: str, password: str):
        response = self.post("/tablet/api/challenge/", {"device": self.device_id}, signed=False)
        if response.status_code != 200:
            return response
        challenge = response.json()["challenge"]
        response = self.post(
            "/tablet/api/signin/",
            {"username": username, "password": password, "challenge": challenge},
        )
        if response.status_code == 200:
            self.token = response.json()["token"]
        return response

    def sync(self, **data):
        return self.post("/tablet/api/sync/down/", {"held": [], **data})


@pytest.fixture
def tablet():
    return FakeTablet()


@pytest.fixture
def enrolled(people, contract, tablet):
    """A tablet enrolled for the designated, qualified surveyor."""
    from genchi.tablet import services

    code = tablet.enrol()
    device = services.confirm_enrolment(
        code,
        contract=contract,
        surveyor=people[Role.SURVEYOR],
        label="T-01",
        by=people[Role.MANAGER],
    )
    tablet.device_id = str(device.pk)
    tablet.device = device
    return tablet


ROWS = [
    ("160-0022", "東京都練馬区豊玉北五丁目1番1号", "メゾン豊玉 101", "山田 太郎"),
    ("170-0013", "東京都豊島区東池袋一丁目2番3号", "", "佐藤 花子"),
    ("060-0001", "北海道札幌市中央区北一条西二丁目", "", "鈴木 一郎"),
]


@pytest.fixture
def assigned(people, contract, contractor, keys_exchanged):  # noqa: F811 - fixture
    """Three received cases: two assigned to the surveyor, one to a second surveyor."""
    from genchi.parties import services as parties

    cases = receive(people, contract, rows=ROWS)
    other = make_person("c-surveyor2", contractor, Role.SURVEYOR)
    parties.designate(
        contract=contract,
        person=other,
        role="surveyor",
        starts_on=contract.starts_on,
        by=people[Role.WARD_ADMIN],
    )
    manager = people[Role.MANAGER]
    assign_cases(
        contract, [cases[0].case_ref, cases[1].case_ref], people[Role.SURVEYOR], by=manager
    )
    assign_cases(contract, [cases[2].case_ref], other, by=manager)
    return {"mine": cases[:2], "other": cases[2], "other_surveyor": other}
