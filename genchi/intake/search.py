"""Keyed blind indexes for finding a case by name or taxpayer number (issue 13).

Names and taxpayer numbers are stored encrypted, so the database cannot compare them.
Each case also carries an HMAC of the normalised full name and of the taxpayer number,
under the ward's key of the contract (the same key as the duplicate check's identity
key, `genchi.vault.blind_index`): an exact value typed in the search box is hashed the
same way and looked up by equality. The hashes reveal only which cases share a value
(docs/security.md, "Blind indexes"); without the ward's key nobody can test a guess.
"""

from __future__ import annotations

import re
import unicodedata

from genchi.vault import blind_index, contract_scope

from .models import HOLDER

_SPACES = re.compile(r"\s+")
_DASHES = re.compile("[-‐‑‒–—―−ー－]")


def name_text(name: str) -> str:
    """A full name as searched: NFKC (full-width → half-width), every space removed
    (「山田 太郎」, 「山田　太郎」 and 「山田太郎」 are the same name)."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", name or ""))


def taxpayer_text(number: str) -> str:
    """A taxpayer number as searched: NFKC, spaces and dashes removed."""
    return _DASHES.sub("", _SPACES.sub("", unicodedata.normalize("NFKC", number or "")))


def name_key(contract_id: int, name: str) -> str:
    text = name_text(name)
    # The field name is hashed in, so a name never matches a number that reads the same.
    return blind_index(contract_scope(contract_id, HOLDER), f"name\x1f{text}") if text else ""


def taxpayer_key(contract_id: int, number: str) -> str:
    text = taxpayer_text(number)
    if not text:
        return ""
    return blind_index(contract_scope(contract_id, HOLDER), f"taxpayer_no\x1f{text}")
