"""Photos and reports in an S3-compatible object store instead of the data folder (issue 18
item 2): configured only by an explicit endpoint, written encrypted, read back through the
logged views' code, and carried by backups and restores.

The store is moto's S3 server on 127.0.0.1 (a stand-in for the MinIO an installation
runs); nothing leaves the machine.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import boto3
import moto.server as moto_server
import pytest
from django.core.files.storage import FileSystemStorage, storages

from genchi.accounts.models import Role
from genchi.core import filestore
from genchi.fieldwork import photos
from genchi.fieldwork.models import VisitPhoto
from genchi.fieldwork.services import assign_cases, record_visit
from genchi.package_format import age
from tests.fieldwork.visits import sample, visit_data
from tests.fieldwork.world import receive
from tests.transfer.conftest import keys_exchanged  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "genchi-files"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "genchi-test",
    "AWS_SECRET_ACCESS_KEY": "genchi-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3(monkeypatch):
    """An S3 server on loopback with one empty bucket; its endpoint URL."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def _objects(endpoint: str, prefix: str = "") -> dict[str, bytes]:
    client = boto3.client("s3", endpoint_url=endpoint)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {
        item["Key"]: client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for item in listed
    }


def test_the_data_folder_is_the_default_store(tmp_path):
    entry = filestore.storage_settings({}, tmp_path)
    assert entry["BACKEND"].endswith("FileSystemStorage")
    assert entry["OPTIONS"]["location"] == tmp_path / "files"
    assert filestore.is_local(FileSystemStorage(location=tmp_path / "files"), tmp_path)
    assert not filestore.is_local(FileSystemStorage(location="/elsewhere"), tmp_path)


def test_an_object_store_needs_its_own_endpoint(tmp_path):
    """No public cloud by default: a bucket without the endpoint the installation runs is
    refused at start-up with what to set."""
    with pytest.raises(filestore.FileStoreSettingsError, match="GENCHI_FILES_S3_ENDPOINT"):
        filestore.storage_settings({"GENCHI_FILES_S3_BUCKET": "b"}, tmp_path)
    entry = filestore.storage_settings(
        {
            "GENCHI_FILES_S3_BUCKET": "b",
            "GENCHI_FILES_S3_ENDPOINT": "https://minio.example.internal:9000",
            "GENCHI_FILES_S3_PREFIX": "/ward/",
        },
        tmp_path,
    )
    options = entry["OPTIONS"]
    assert entry["BACKEND"] == "storages.backends.s3.S3Storage"
    assert options["endpoint_url"] == "https://minio.example.internal:9000"
    assert (options["location"], options["file_overwrite"], options["default_acl"]) == (
        "ward",
        False,
        None,
    )


def test_a_settings_error_is_a_sentence_not_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "genchi", "check"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "GENCHI_DATA_DIR": str(tmp_path / "data"),
            "GENCHI_FILES_S3_BUCKET": "genchi",
            "DJANGO_SETTINGS_MODULE": "genchi.settings",
            "PYTHONPATH": str(ROOT),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "GENCHI_FILES_S3_ENDPOINT" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def s3_store(s3, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        filestore.ALIAS: filestore.storage_settings(
            {
                "GENCHI_FILES_S3_BUCKET": BUCKET,
                "GENCHI_FILES_S3_ENDPOINT": s3,
                "GENCHI_FILES_S3_PREFIX": "installation-a",
            },
            tmp_path,
        ),
    }
    assert not filestore.is_local(storages[filestore.ALIAS], tmp_path)
    return s3


def test_visit_photos_go_to_the_object_store_encrypted(
    s3_store,
    people,
    contract,
    keys_exchanged,  # noqa: F811 - the fixture imported above
):
    case = receive(people, contract)[0]
    assign_cases(contract, [case.case_ref], people[Role.SURVEYOR], by=people[Role.MANAGER])
    picture = sample()
    visit = record_visit(case, visit_data(), [picture], by=people[Role.SURVEYOR])

    stored = _objects(s3_store, "installation-a/photos/")
    assert len(stored) == 1
    (body,) = stored.values()
    # What the store holds is ciphertext: no JPEG header, no picture bytes.
    assert b"\xff\xd8\xff" not in body and picture[2000:2064] not in body
    photo = VisitPhoto.objects.get(visit=visit)
    assert photos.photo_bytes(photo).startswith(b"\xff\xd8\xff")


def test_a_backup_carries_the_objects_and_a_restore_puts_them_back(s3, tmp_path):
    """A real installation (its own processes) keeping files in the store: the backup
    holds each object; restored into a new installation with an empty prefix, every
    object is back, byte for byte."""
    import os

    def env(name: str, prefix: str) -> dict[str, str]:
        values = {
            **os.environ,
            **CREDENTIALS,
            "GENCHI_DATA_DIR": str(tmp_path / name),
            "DJANGO_SETTINGS_MODULE": "genchi.settings",
            "GENCHI_FILES_S3_BUCKET": BUCKET,
            "GENCHI_FILES_S3_ENDPOINT": s3,
            "GENCHI_FILES_S3_PREFIX": prefix,
            "PYTHONPATH": str(ROOT),
        }
        values.pop("DATABASE_URL", None)  # each installation its own SQLite file
        return values

    def run(name: str, prefix: str, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env(name, prefix), capture_output=True,
            text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return result

    run("a", "a", "-m", "genchi", "migrate", "--no-input")
    store_two = (
        "import django; django.setup()\n"
        "from django.core.files.base import ContentFile\n"
        "from django.core.files.storage import storages\n"
        "from genchi.vault.master import load_or_create_master_key\n"
        "load_or_create_master_key()\n"
        "s = storages['genchi_files']\n"
        "s.save('photos/aa/one.bin', ContentFile(b'one-' * 1000))\n"
        "s.save('reports/two.bin', ContentFile(b'two-' * 10))\n"
    )
    run("a", "a", "-c", store_two)
    init = run("a", "a", "-m", "genchi", "backup", "init", "--generate")
    identity = next(line for line in init.stdout.splitlines() if line.startswith("AGE-SECRET"))
    (tmp_path / "backup.key").write_text(identity + "\n")
    paper = next(
        line
        for line in run("a", "a", "-m", "genchi", "keys", "export-master").stdout.splitlines()
        if line.startswith("GENCHI-MK1 ")
    )
    (tmp_path / "master.txt").write_text(paper)
    backup = tmp_path / "backup.age"
    run("a", "a", "-m", "genchi", "backup", "create", "--out", str(backup))

    with (
        backup.open("rb") as raw,
        tarfile.open(fileobj=age.AgeReader(raw, identities=[identity]), mode="r|") as tar,
    ):
        members = {m.name: tar.extractfile(m).read() for m in tar if m.name.startswith("store/")}
    original = _objects(s3, "a/")
    assert members == {f"store/{key.removeprefix('a/')}": body for key, body in original.items()}
    assert len(members) == 2

    (tmp_path / "b").mkdir(mode=0o700)
    run("b", "b", "-m", "genchi", "backup", "restore", str(backup),
        "--identity", str(tmp_path / "backup.key"), "--master-key", str(tmp_path / "master.txt"))  # fmt: skip
    restored = _objects(s3, "b/")
    assert {k.removeprefix("b/"): v for k, v in restored.items()} == {
        k.removeprefix("a/"): v for k, v in original.items()
    }
