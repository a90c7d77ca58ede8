"""The archive layer: the layout Genchi writes, and every hostile archive refused."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from genchi.package_format.manifest import canonical_json
from genchi.package_format.records import blank_result
from tests.package_format.crafting import craft, entry
from tests.package_format.packages import (
    CASES,
    decrypt_archive,
    open_cases,
    refused,
    write_cases,
)


def test_archive_layout_and_signature_are_standard(pkg_keys, pkg_out):
    """Member order, canonical manifest, raw Ed25519 signature, 64 KiB padding."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    written = write_cases(pkg_keys, pkg_out)
    plain = decrypt_archive(pkg_keys, written.path)
    assert len(plain) % (64 * 1024) == 0
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tf:
        infos = tf.getmembers()
        assert [i.name for i in infos] == [
            "manifest.json",
            "manifest.sig",
            "records.jsonl",
            "records.csv",
        ]
        assert all(i.isreg() and i.mode == 0o644 for i in infos)
        manifest = tf.extractfile("manifest.json").read()
        sig = tf.extractfile("manifest.sig").read()
    Ed25519PublicKey.from_public_bytes(pkg_keys["ward"].signing.public_key_bytes).verify(
        sig, manifest
    )
    obj = json.loads(manifest)
    assert canonical_json(obj) == manifest
    assert obj["format"] == "genchi-package" and obj["format_version"] == 1
    assert obj["record_schema"] == "genchi/cases/v1"
    assert (
        obj["signing_key"] == hashlib.sha256(pkg_keys["ward"].signing.public_key_bytes).hexdigest()
    )


def test_crafted_baseline_is_accepted(pkg_keys, pkg_out):
    """The crafting helper itself makes valid packages; each test below breaks one thing."""
    assert open_cases(pkg_keys, craft(pkg_keys, pkg_out)).read_all().records == CASES[:3]


@pytest.mark.parametrize(
    "name",
    [
        "../evil.txt",
        "/etc/passwd",
        "photos/../../evil",
        "photos/./x",
        "C:/evil",
        "photos\\..\\evil",
    ],
)
def test_path_traversal(pkg_keys, pkg_out, name):
    path = craft(pkg_keys, pkg_out, extra=[entry(name, b"x")])
    refused("path_traversal", open_cases, pkg_keys, path)


def test_path_traversal_before_the_records(pkg_keys, pkg_out):
    path = craft(pkg_keys, pkg_out, before_records=[entry("../../etc/cron.d/x", b"x")])
    refused("path_traversal", open_cases, pkg_keys, path)


@pytest.mark.parametrize("type_", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_links_are_refused(pkg_keys, pkg_out, type_):
    path = craft(
        pkg_keys, pkg_out, extra=[entry("photos/x.jpg", type_=type_, linkname="/etc/passwd")]
    )
    refused("link_member", open_cases, pkg_keys, path)


@pytest.mark.parametrize(
    "type_", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE, tarfile.DIRTYPE]
)
def test_devices_and_directories_are_refused(pkg_keys, pkg_out, type_):
    path = craft(pkg_keys, pkg_out, extra=[entry("photos/dev", type_=type_)])
    refused("special_member", open_cases, pkg_keys, path)


def test_duplicate_member(pkg_keys, pkg_out):
    path = craft(pkg_keys, pkg_out, extra=[entry("records.jsonl", b"{}\n")])
    refused("duplicate_member", open_cases, pkg_keys, path)


def test_unlisted_member(pkg_keys, pkg_out):
    path = craft(pkg_keys, pkg_out, extra=[entry("photos/extra.jpg", b"jpeg")])
    refused("unexpected_member", open_cases, pkg_keys, path)


def test_missing_member(pkg_keys, pkg_out):
    refused("missing_member", open_cases, pkg_keys, craft(pkg_keys, pkg_out, drop={"records.csv"}))
    photos = {"C0001/1.jpg": b"jpeg-1", "C0001/2.jpg": b"jpeg-2"}
    path = craft(
        pkg_keys,
        pkg_out,
        kind="results",
        photos=photos,
        drop={"photos/C0001/2.jpg"},
        records=[blank_result("C0001")],
        cols=[("case_ref", "案件番号")],
    )
    refused("missing_member", open_cases, pkg_keys, path, expected_kind="results")
