"""Looking into a package without importing it: its manifest and signature status with
this Genchi's keys (`genchi package inspect`, the import page's first step)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.package_format import PackageInfo, inspect_package
from genchi.parties.models import Organisation

from .. import contract_keys, orgkeys
from .common import Refused


def local_identities() -> list[tuple[Organisation, str]]:
    """Every age identity held here, with its organisation: the live contract recipient
    keys, then the organisation keys (which open packages written before those)."""
    found = contract_keys.local_identities()
    for row in orgkeys.OrganisationKeyPair.objects.filter(retired_at__isnull=True).select_related(
        "organisation"
    ):
        found.append((row.organisation, orgkeys.secret_keys(row.organisation).encryption.identity))
    return found


def peek_manifest(path: Path, *, passphrase: str | None = None):
    """The manifest (not yet trusted) — only to learn which contract it claims."""
    identities = [identity for _, identity in local_identities()] if passphrase is None else None
    if passphrase is None and not identities:
        raise Refused("no_key_pair", _("この Genchi には組織の鍵ペアがありません。"))
    try:
        info = inspect_package(path, identity=identities, passphrase=passphrase)
    except Refused as exc:
        if exc.code == "wrong_key" and passphrase is None and contract_keys.any_destroyed():
            raise Refused(
                "contract_erased",
                _(
                    "この Genchi にある鍵ではこのパッケージを開けません。消去済みの契約のパッケージは、"
                    "受け取り鍵を破棄したため開けません(別の組織あてのパッケージの可能性もあります)。"
                ),
            ) from None
        raise
    if info.manifest is None:
        raise Refused("unknown_format")
    return info.manifest


@dataclass(frozen=True)
class Inspection:
    info: PackageInfo
    opened_as: str  # organisation code whose key opened it, or ""
    sender_known: bool


def inspect_file(path: str | os.PathLike[str], *, passphrase: str | None = None) -> Inspection:
    """Manifest and signature status using this Genchi's keys; never reads records."""
    p = Path(path)
    orgs = local_identities() if passphrase is None else []
    opened_as = ""
    opened_with: str | None = None
    info: PackageInfo | None = None
    if passphrase is not None:
        info = inspect_package(p, passphrase=passphrase)
    else:
        for org, identity in orgs:
            try:
                info = inspect_package(p, identity=identity)
                opened_as, opened_with = org.code, identity
                break
            except Refused as exc:
                if exc.code != "wrong_key":
                    raise
        if info is None:
            info = inspect_package(p)
    sender_known = False
    if info.manifest is not None:
        card = _card_for(info.manifest.sender)
        if card is not None:
            sender_known = True
            info = inspect_package(p, identity=opened_with, passphrase=passphrase, sender_key=card)
    record(
        "package.inspected",
        detail={
            "file": p.name[:200],
            "file_sha256": info.file_sha256,
            "digest": info.digest or "",
            "package_id": info.manifest.package_id if info.manifest else "",
            "signature": info.signature,
        },
    )
    return Inspection(info, opened_as, sender_known)


def _card_for(org_code: str):
    """The signing key of `org_code` as known here: its own key pair or a partner card."""
    org = Organisation.objects.filter(code=org_code).first()
    if org is None:
        return None
    try:
        return orgkeys.own_card(org)
    except Refused:
        pass
    row = orgkeys.PartnerKeyCard.objects.filter(subject=org, retired_at__isnull=True).first()
    return orgkeys.parse_public_key_card(row.card_json) if row else None
