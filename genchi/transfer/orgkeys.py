"""Organisation key pairs and partner key cards, stored and logged.

The secret key file (genchi.package_format.keys.OrganisationKeys.to_bytes) is kept wrapped
under the installation's master key by the vault (`genchi.vault.wrap_secret`, the same
key that wraps data keys, D1), bound to its organisation. Partner public
key cards are imported with their fingerprints, who imported them and when, all logged.
"""

from __future__ import annotations

import base64
from typing import NoReturn

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.audit.refusals import record_refusal
from genchi.package_format.keys import (
    OrganisationKeys,
    PublicKeyCard,
    generate_organisation_keys,
    parse_public_key_card,
)
from genchi.parties.models import Organisation
from genchi.vault import (
    DecryptionFailed,
    MasterKey,
    MasterKeyError,
    current_master_key,
    unwrap_secret,
    wrap_secret,
)

from .models import OrganisationKeyPair, PartnerKeyCard
from .refusals import Refused, refusal_message


def _secret_context(org_code: str) -> str:
    return f"org-keys:{org_code}"


def wrap_org_secret(org_code: str, secret: bytes, master: MasterKey | None = None) -> bytes:
    """An organisation's secret key file wrapped under the master key, bound to it."""
    return wrap_secret(_secret_context(org_code), secret, master)


def unwrap_org_secret(org_code: str, blob: bytes, master: MasterKey | None = None) -> bytes:
    try:
        return unwrap_secret(_secret_context(org_code), blob, master)
    except DecryptionFailed:
        raise Refused(
            "secret_unreadable",
            _("組織の秘密鍵を復号できません。マスター鍵が違うか、鍵が壊れています。"),
        ) from None


def active_key_pair(org: Organisation) -> OrganisationKeyPair | None:
    return OrganisationKeyPair.objects.filter(organisation=org, retired_at__isnull=True).first()


def create_key_pair(org: Organisation, *, by=None, replace: bool = False) -> OrganisationKeyPair:
    """New encryption and signing key pairs for `org`; the old pair is retired if `replace`."""
    with transaction.atomic():
        current = active_key_pair(org)
        if current and not replace:
            raise Refused(
                "exists",
                _("%(org)s の鍵ペアはすでにあります(作り直すには置き換えを指定)。")
                % {"org": org.name},
            )
        if current:
            current.retired_at = timezone.now()
            current.save(update_fields=["retired_at"])
        generated = generate_organisation_keys(org.code, org.name[:100])
        master = current_master_key()
        card = generated.public_card()
        row = OrganisationKeyPair.objects.create(
            organisation=org,
            age_recipient=card.age_recipient,
            signing_public_key=base64.b64encode(card.signing_public_key).decode("ascii"),
            encryption_fingerprint=card.encryption_fingerprint,
            signing_fingerprint=card.signing_fingerprint,
            secret_blob=wrap_org_secret(org.code, generated.to_bytes(), master),
            master_key_id=master.key_id,
            card_json=card.to_bytes().decode("utf-8"),
            by=by if getattr(by, "pk", None) else None,
        )
        record(
            "orgkey.created",
            obj=row,
            detail={
                "organisation": org.code,
                "encryption_fingerprint": card.encryption_fingerprint,
                "signing_fingerprint": card.signing_fingerprint,
                "replaced": bool(current),
            },
        )
    return row


def secret_keys(org: Organisation) -> OrganisationKeys:
    """The organisation's secret keys (in memory only, for signing or decrypting)."""
    row = active_key_pair(org)
    if row is None:
        raise Refused(
            "no_key_pair",
            _("%(org)s の鍵ペアがありません。先に「genchi keys create」で作成してください。")
            % {"org": org.name},
        )
    return OrganisationKeys.from_bytes(unwrap_org_secret(org.code, bytes(row.secret_blob)))


def own_card(org: Organisation) -> PublicKeyCard:
    row = active_key_pair(org)
    if row is None:
        raise Refused("no_key_pair", _("%(org)s の鍵ペアがありません。") % {"org": org.name})
    return parse_public_key_card(row.card_json)


def export_card(org: Organisation) -> bytes:
    card = own_card(org)
    record("orgkey.card_exported", detail={"organisation": org.code})
    return card.to_bytes()


def import_card(
    holder: Organisation,
    data: bytes | str,
    *,
    by=None,
    expected_fingerprint: str = "",
    replace: bool = False,
) -> PartnerKeyCard:
    """Register a partner's public key card. `expected_fingerprint`, if given, must match
    the signing or encryption fingerprint read out by the partner (spaces ignored)."""
    try:
        card = parse_public_key_card(data)
    except Refused as exc:
        _refuse_card(holder, exc)
    subject = Organisation.objects.filter(code=card.org_code).first()
    if subject is None:
        message = _("組織コード %(code)s の組織が登録されていません。") % {"code": card.org_code}
        _refuse_card(holder, Refused("unknown_org", message))
    if subject == holder:
        message = _("自分の組織の公開鍵カードは相手として登録できません。")
        _refuse_card(holder, Refused("own_card", message))
    if subject.kind == holder.kind:
        message = _("相手方(区と受託事業者の組み合わせ)ではない組織のカードです。")
        _refuse_card(holder, Refused("same_side", message))
    if expected_fingerprint:
        wanted = expected_fingerprint.replace(" ", "").upper()
        known = {
            card.signing_fingerprint.replace(" ", ""),
            card.encryption_fingerprint.replace(" ", ""),
        }
        if wanted not in known:
            message = _("読み上げられたフィンガープリントとカードが一致しません。登録しません。")
            _refuse_card(holder, Refused("fingerprint_differs", message))
    current = PartnerKeyCard.objects.filter(
        holder=holder, subject=subject, retired_at__isnull=True
    ).first()
    if current and current.signing_fingerprint == card.signing_fingerprint and not replace:
        return current
    if current and not replace:  # refused outside the transaction, so its entry stays
        message = _(
            "%(org)s の公開鍵カードはすでに登録されています(鍵の更新なら置き換えを指定)。"
        ) % {"org": subject.name}
        _refuse_card(holder, Refused("card_exists", message))
    with transaction.atomic():
        if current:
            current.retired_at = timezone.now()
            current.save(update_fields=["retired_at"])
        row = PartnerKeyCard.objects.create(
            holder=holder,
            subject=subject,
            org_name=card.org_name,
            age_recipient=card.age_recipient,
            signing_public_key=base64.b64encode(card.signing_public_key).decode("ascii"),
            encryption_fingerprint=card.encryption_fingerprint,
            signing_fingerprint=card.signing_fingerprint,
            card_json=card.to_bytes().decode("utf-8"),
            by=by if getattr(by, "pk", None) else None,
            fingerprints_compared=bool(expected_fingerprint),
        )
        record(
            "orgkey.card_imported",
            obj=row,
            detail={
                "holder": holder.code,
                "subject": subject.code,
                "encryption_fingerprint": card.encryption_fingerprint,
                "signing_fingerprint": card.signing_fingerprint,
                "fingerprint_compared": bool(expected_fingerprint),
                "replaced": bool(current),
            },
        )
    return row


def _refuse_card(holder: Organisation, refusal: Refused) -> NoReturn:
    """Log a refused card (outside any transaction, so the entry stays), then refuse it."""
    record_refusal("orgkey.card_refused", detail={"holder": holder.code, "code": refusal.code})
    raise refusal from None


def partner_card(holder: Organisation, subject: Organisation) -> PublicKeyCard:
    row = PartnerKeyCard.objects.filter(
        holder=holder, subject=subject, retired_at__isnull=True
    ).first()
    if row is None:
        raise Refused(
            "no_partner_card",
            _("%(org)s の公開鍵カードが登録されていません。鍵の交換を先に行ってください。")
            % {"org": subject.name},
        )
    return parse_public_key_card(row.card_json)


def trusted_signers(holder: Organisation) -> dict[str, PublicKeyCard]:
    """Partner cards this organisation trusts, by organisation code."""
    return {
        row.subject.code: parse_public_key_card(row.card_json)
        for row in PartnerKeyCard.objects.filter(
            holder=holder, retired_at__isnull=True
        ).select_related("subject")
    }


@transaction.atomic
def exchange_demo_cards(ward: Organisation, contractor: Organisation) -> None:
    """Both sides import each other's card (one Genchi hosting both sides: the demo)."""
    for org in (ward, contractor):
        if active_key_pair(org) is None:
            create_key_pair(org)
    import_card(
        contractor,
        own_card(ward).to_bytes(),
        expected_fingerprint=own_card(ward).signing_fingerprint,
    )
    import_card(
        ward,
        own_card(contractor).to_bytes(),
        expected_fingerprint=own_card(contractor).signing_fingerprint,
    )


def rewrap_secrets(old: MasterKey, new: MasterKey) -> int:
    """Master-key rotation hook: re-encrypt every organisation secret from `old` to `new`.

    Registered in TransferConfig.ready(); runs inside the vault's rotation transaction, and
    reports a secret it cannot open as the vault's MasterKeyError (the rotation is undone).
    """
    rows = OrganisationKeyPair.objects.select_for_update(of=("self",), no_key=True).select_related(
        "organisation"
    )
    count = 0
    for row in rows:
        code = row.organisation.code
        try:
            secret = unwrap_org_secret(code, bytes(row.secret_blob), old)
        except Refused as exc:
            raise MasterKeyError(refusal_message(exc)) from exc
        row.secret_blob = wrap_org_secret(code, secret, new)
        row.master_key_id = new.key_id
        row.save(update_fields=["secret_blob", "master_key_id"])
        count += 1
    return count
