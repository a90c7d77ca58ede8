"""The vault's public API: everything it names is there, and AES-GCM is called there only."""

import re
from pathlib import Path

import pytest

import genchi
from genchi import vault

SOURCE = Path(genchi.__file__).parent
API = SOURCE / "vault" / "encryption.py"
# The AEAD class, or AES in GCM mode through the lower-level Cipher interface.
AES_GCM = re.compile(r"AESGCM|modes\.GCM\b|\bGCM\(")


def test_aes_gcm_appears_only_in_the_vault_api():
    users = sorted(
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*")
        if path.suffix in {".py", ".c"} and AES_GCM.search(path.read_text("utf-8", "replace"))
    )
    assert users == [str(API.relative_to(SOURCE))]


def test_the_pattern_finds_both_spellings():
    assert AES_GCM.search("from cryptography.hazmat.primitives.ciphers.aead import AESGCM")
    assert AES_GCM.search("Cipher(algorithms.AES(key), modes.GCM(nonce))")
    assert not AES_GCM.search("AES-256-GCM under the master key; ChaCha20Poly1305")


def test_every_name_of_the_api_resolves():
    for name in vault.__all__:
        assert getattr(vault, name) is not None, name
    assert vault.encrypt.__module__ == "genchi.vault.encryption"
    with pytest.raises(AttributeError):
        vault.not_there  # noqa: B018
