"""The manifest: signature, version, member hashes and counts, and the package digest."""

from __future__ import annotations

import subprocess

from tests.package_format.crafting import craft
from tests.package_format.packages import (
    AGE,
    needs_age,
    open_cases,
    refused,
    write_cases,
)


@needs_age
def test_package_digest_with_standard_tools(pkg_keys, pkg_out, tmp_path):
    """docs/package-format.md: age -d … | tar -xO manifest.json | sha256sum gives the
    digest printed on the handover slip, byte for byte."""
    written = write_cases(pkg_keys, pkg_out)
    key = tmp_path / "key.txt"
    key.write_text(pkg_keys["contractor"].encryption.identity + "\n")
    script = '"$0" -d -i "$1" "$2" | tar -xO manifest.json | sha256sum'
    out = subprocess.run(
        ["sh", "-c", script, AGE, str(key), str(written.path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.split()[0] == written.digest


def test_unsigned_and_badly_signed_manifest(pkg_keys, pkg_out):
    refused("unsigned", open_cases, pkg_keys, craft(pkg_keys, pkg_out, drop={"manifest.sig"}))
    path = craft(pkg_keys, pkg_out, sign_with=pkg_keys["other"].signing)
    refused("bad_signature", open_cases, pkg_keys, path)
    refused("bad_signature", open_cases, pkg_keys, craft(pkg_keys, pkg_out, signature=bytes(64)))
    refused("bad_signature", open_cases, pkg_keys, craft(pkg_keys, pkg_out, signature=b"short"))


def test_signed_by_another_key(pkg_keys, pkg_out):
    written = write_cases(pkg_keys, pkg_out, signing_key=pkg_keys["other"].signing)
    refused("bad_signature", open_cases, pkg_keys, written.path)


def test_manifest_not_first(pkg_keys, pkg_out):
    path = craft(pkg_keys, pkg_out, drop={"manifest.json", "manifest.sig"})
    refused("unknown_format", open_cases, pkg_keys, path)


def test_unknown_format_version(pkg_keys, pkg_out):
    path = craft(pkg_keys, pkg_out, manifest_edit=lambda m: m.update(format_version=2))
    err = refused("unknown_format", open_cases, pkg_keys, path, reason="format_version")
    assert err.params == {"version": 2}


def test_hash_mismatch(pkg_keys, pkg_out):
    def wrong_hash(m):
        m["members"][0]["sha256"] = "0" * 64

    refused(
        "hash_mismatch", open_cases, pkg_keys, craft(pkg_keys, pkg_out, manifest_edit=wrong_hash)
    )

    def wrong_size(m):
        m["members"][1]["size"] += 1

    refused(
        "hash_mismatch", open_cases, pkg_keys, craft(pkg_keys, pkg_out, manifest_edit=wrong_size)
    )


def test_count_mismatch(pkg_keys, pkg_out):
    def more(m):
        m["record_count"] += 1

    refused("count_mismatch", open_cases, pkg_keys, craft(pkg_keys, pkg_out, manifest_edit=more))
