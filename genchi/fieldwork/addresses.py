"""The contractor's reading of a received address (genchi.geo, offline) and the keyed
hash that lets the office find a case by name without a clear name column."""

from __future__ import annotations

import functools
import unicodedata

from genchi import vault
from genchi.geo import gazetteer, normalize
from genchi.parties.models import Contract
from genchi.vault.scopes import CONTRACTOR


@functools.cache
def _pref_codes() -> dict[str, int]:
    # The gazetteer lists the prefectures in JIS X 0401 order (北海道 = 1 … 沖縄県 = 47).
    return {pref: number for number, pref in enumerate(gazetteer.get().prefectures, 1)}


def pref_code(pref: str) -> int:
    """JIS X 0401 code of a prefecture name, 0 when unknown."""
    return _pref_codes().get(pref, 0)


def address_fields(address: str, postal_code: str = "") -> dict:
    """The SurveyCase fields the address engine fills for `address`."""
    result = normalize(address, postal_code or None)
    return {
        "pref": result.pref,
        "pref_code": pref_code(result.pref),
        "city": result.city,
        "town": result.town,
        "rest": result.rest,
        "lat": "" if result.lat is None else f"{result.lat:.6f}",
        "lng": "" if result.lng is None else f"{result.lng:.6f}",
        "geocode_level": result.level,
    }


def _folded(name: str) -> str:
    # 全角/半角 and spaces do not make two names different for a search.
    return "".join(unicodedata.normalize("NFKC", name).split())


def name_key(contract: Contract, name: str) -> str:
    """Keyed hash of a name under the contractor's key of the contract ("" for no name)."""
    folded = _folded(name or "")
    if not folded:
        return ""
    return vault.blind_index(vault.contract_scope(contract.pk, CONTRACTOR), folded)
