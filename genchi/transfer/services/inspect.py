"""Looking into a package without importing it: its manifest, signature and content status
with this Genchi's keys (`genchi package inspect`), and the manifest an import reads first
to learn which contract the package claims.

A manifest is parsed only once its signature verified with a key this Genchi trusts,
wherever the sender can be known: an import refuses anything else before parsing it. Only
inspection shows a manifest no trusted key verifies (a sender not registered yet), parsed
within the format's limits and labelled as unverified.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.package_format import (
    Manifest,
    PackageInfo,
    PublicKeyCard,
    inspect_package,
    parse_public_key_card,
    read_signed_manifest,
)
from genchi.parties.models import Organisation

from .. import contract_keys, orgkeys
from .common import COMMAND_MAX_SCRYPT_WORK_FACTOR, WEB_MAX_SCRYPT_WORK_FACTOR, Refused


def local_identities() -> list[tuple[Organisation, str]]:
    """Every age identity held here, with its organisation: the live contract recipient
    keys, then the organisation keys (which open packages written before those)."""
    found = contract_keys.local_identities()
    for row in orgkeys.OrganisationKeyPair.objects.filter(retired_at__isnull=True).select_related(
        "organisation"
    ):
        found.append((row.organisation, orgkeys.secret_keys(row.organisation).encryption.identity))
    return found


def trusted_signers() -> list[tuple[str, PublicKeyCard]]:
    """Every signing key this Genchi trusts, with its organisation's code: the partners'
    registered cards and the organisations' own (one Genchi may host both sides)."""
    rows = [
        (row.subject.code, row.card_json)
        for row in orgkeys.PartnerKeyCard.objects.filter(retired_at__isnull=True).select_related(
            "subject"
        )
    ]
    rows += [
        (row.organisation.code, row.card_json)
        for row in orgkeys.OrganisationKeyPair.objects.filter(
            retired_at__isnull=True
        ).select_related("organisation")
    ]
    found: dict[str, tuple[str, PublicKeyCard]] = {}
    for code, card_json in rows:
        card = parse_public_key_card(card_json)
        found.setdefault(card.signing_fingerprint, (code, card))
    return list(found.values())


def peek_manifest(
    path: Path,
    *,
    passphrase: str | None = None,
    max_scrypt_work_factor: int = WEB_MAX_SCRYPT_WORK_FACTOR,
) -> Manifest:
    """The manifest, only to learn which contract it claims: read once its signature
    verified with a key trusted here (refused `unsigned` or `bad_signature` otherwise,
    unparsed). open_package then checks everything against that contract's sender."""
    identities = [identity for _, identity in local_identities()] if passphrase is None else None
    if passphrase is None and not identities:
        raise Refused("no_key_pair", _("この Genchi には組織の鍵ペアがありません。"))
    signers = trusted_signers()
    if not signers:
        raise Refused(
            "no_partner_card",
            _("相手の公開鍵カードが登録されていません。鍵の交換を先に行ってください。"),
        )
    try:
        manifest = read_signed_manifest(
            path,
            sender_keys=[card for _, card in signers],
            identity=identities,
            passphrase=passphrase,
            max_scrypt_work_factor=max_scrypt_work_factor,
        ).manifest
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
    return manifest


@dataclass(frozen=True)
class Inspection:
    info: PackageInfo
    opened_as: str  # organisation code whose key opened it, or ""
    sender_known: bool  # the sender the manifest names has a signing key registered here


def inspect_file(
    path: str | os.PathLike[str],
    *,
    passphrase: str | None = None,
    max_scrypt_work_factor: int = COMMAND_MAX_SCRYPT_WORK_FACTOR,
) -> Inspection:
    """Manifest, signature and content status using this Genchi's keys; shows nothing of
    the records. With a valid signature every member is checked against the manifest."""
    p = Path(path)
    signers = trusted_signers()
    cards = [card for _, card in signers]
    opened_as = ""
    info: PackageInfo | None = None
    if passphrase is not None:
        info = inspect_package(
            p,
            passphrase=passphrase,
            sender_keys=cards,
            max_scrypt_work_factor=max_scrypt_work_factor,
        )
    else:
        for org, identity in local_identities():
            try:
                info = inspect_package(p, identity=identity, sender_keys=cards)
                opened_as = org.code
                break
            except Refused as exc:
                if exc.code != "wrong_key":
                    raise
        if info is None:
            info = inspect_package(p)
    sender_known = False
    if info.manifest is not None:
        claimed = info.manifest.sender
        sender_known = any(code == claimed for code, _ in signers)
        if info.signer is not None and signers[info.signer][0] != claimed:
            # Signed with the key of another organisation than the one it names.
            info = dataclasses.replace(info, signature="invalid", content="not_checked")
        elif info.signature == "invalid" and not sender_known:
            info = dataclasses.replace(info, signature="not_checked")
    record(
        "package.inspected",
        detail={
            "file": p.name[:200],
            "file_sha256": info.file_sha256,
            "digest": info.digest or "",
            "package_id": info.manifest.package_id if info.manifest else "",
            "signature": info.signature,
            "content": info.content,
            "content_refusal": info.content_refusal.code if info.content_refusal else "",
        },
    )
    return Inspection(info, opened_as, sender_known)
