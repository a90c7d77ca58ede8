"""Contract recipient keys: packages of a contract are encrypted to a key of that contract.

An organisation's key (orgkeys.py) outlives every contract, so a package encrypted to it
would still open after the contract is erased (a backup, a stick not wiped). Instead the
receiving side of each contract (the contractor for case packages, the ward for results)
makes a key pair for that contract alone:

- its secret is stored encrypted by the vault under that side's data key of the contract
  (`vault.encrypt`), so `erase_contract_keys` (the erasure step, which destroys the data
  key) makes it, and every copy of the contract's packages, unreadable;
- its public half goes to the other side as a contract recipient card
  (genchi.package_format.contract_card), signed by the organisation's signing key; the
  other side registers it after comparing the encryption fingerprint read out, and only
  then can export the contract's packages (no fallback to the organisation key).

Packages encrypted to the organisation key before this existed still open on import.
"""

from __future__ import annotations

from typing import NoReturn

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from genchi import vault
from genchi.audit.chain import record
from genchi.audit.refusals import record_refusal
from genchi.package_format.contract_card import (
    ContractRecipientCard,
    parse_contract_card,
    sign_contract_card,
)
from genchi.package_format.keys import EncryptionKeyPair
from genchi.parties.models import Contract, Organisation

from . import orgkeys
from .models import ContractRecipientKey, PartnerContractCard
from .refusals import Refused


def _secret_context(row: ContractRecipientKey) -> str:
    return f"contract-recipient:{row.pk}"


def _other_party(contract: Contract, organisation: Organisation) -> Organisation:
    return contract.contractor if organisation.pk == contract.ward_id else contract.ward


def _require_party(contract: Contract, organisation: Organisation) -> None:
    if organisation.pk not in (contract.ward_id, contract.contractor_id):
        raise Refused(
            "not_party",
            _("%(org)s は契約 %(contract)s の当事者ではありません。")
            % {"org": organisation.name, "contract": contract.code},
        )


def recipient_key(contract: Contract, organisation: Organisation) -> ContractRecipientKey | None:
    """`organisation`'s recipient key of `contract` (live or destroyed), if it made one."""
    return ContractRecipientKey.objects.filter(contract=contract, organisation=organisation).first()


def create_recipient_key(
    contract: Contract, organisation: Organisation, *, by=None
) -> ContractRecipientKey:
    """Make `organisation`'s recipient key of `contract` and its card, signed with the
    organisation's signing key. Once per side and contract: a destroyed key (the contract
    erased) is never replaced."""
    _require_party(contract, organisation)
    existing = recipient_key(contract, organisation)
    if existing is not None and existing.destroyed_at is not None:
        raise Refused(
            "contract_erased",
            _("契約 %(contract)s は消去済みです。受け取り鍵は作り直せません。")
            % {"contract": contract.code},
        )
    if existing is not None:
        raise Refused(
            "recipient_key_exists",
            _("契約 %(contract)s の受け取り鍵はすでにあります。") % {"contract": contract.code},
        )
    signing = orgkeys.secret_keys(organisation).signing
    key = EncryptionKeyPair.generate()
    card = sign_contract_card(
        contract=contract.code, org_code=organisation.code, key=key, signing=signing
    )
    with transaction.atomic():
        row = ContractRecipientKey.objects.create(
            contract=contract,
            organisation=organisation,
            age_recipient=key.recipient,
            encryption_fingerprint=card.encryption_fingerprint,
            secret_blob=b"",
            card_json=card.to_bytes().decode("utf-8"),
            by=by if getattr(by, "pk", None) else None,
        )
        # The context names the row, so the id is known only once it is inserted.
        row.secret_blob = vault.encrypt(
            vault.scope_of(contract, organisation), _secret_context(row), key.identity.encode()
        )
        row.save(update_fields=["secret_blob"])
        record(
            "contractkey.created",
            obj=row,
            contract=contract,
            detail={
                "organisation": organisation.code,
                "encryption_fingerprint": card.encryption_fingerprint,
            },
        )
    return row


def own_card(row: ContractRecipientKey) -> ContractRecipientCard:
    return parse_contract_card(row.card_json)


def export_card(row: ContractRecipientKey) -> bytes:
    """The card file to hand to the other side (logged)."""
    if row.destroyed_at is not None:
        raise Refused(
            "contract_erased",
            _("契約 %(contract)s の受け取り鍵は破棄済みです。") % {"contract": row.contract.code},
        )
    record(
        "contractkey.card_exported",
        contract=row.contract,
        detail={"organisation": row.organisation.code},
    )
    return row.card_json.encode("utf-8")


def identity_of(row: ContractRecipientKey) -> str | None:
    """The age identity of a recipient key, or None once it has been destroyed."""
    if row.destroyed_at is not None:
        return None
    scope = vault.scope_of(row.contract, row.organisation)
    try:
        return vault.decrypt(scope, _secret_context(row), bytes(row.secret_blob)).decode()
    except vault.KeyUnavailable:
        return None  # the data key went with an erasure this row has not recorded yet


def identities_for(contract: Contract, organisation: Organisation) -> list[str]:
    """What opens a package of `contract` addressed to `organisation`: its recipient key
    of the contract (if live), then its organisation key for packages written before."""
    found = []
    row = recipient_key(contract, organisation)
    if row is not None:
        identity = identity_of(row)
        if identity is not None:
            found.append(identity)
    found.append(orgkeys.secret_keys(organisation).encryption.identity)
    return found


def local_identities() -> list[tuple[Organisation, str]]:
    """Every live contract recipient key held here, with its organisation."""
    rows = ContractRecipientKey.objects.filter(destroyed_at__isnull=True).select_related(
        "contract", "organisation"
    )
    found = []
    for row in rows:
        identity = identity_of(row)
        if identity is not None:
            found.append((row.organisation, identity))
    return found


def any_destroyed() -> bool:
    return ContractRecipientKey.objects.filter(destroyed_at__isnull=False).exists()


def is_erased(contract: Contract, organisation: Organisation) -> bool:
    row = recipient_key(contract, organisation)
    return row is not None and row.destroyed_at is not None


# --- the other side's card ----------------------------------------------------------------


def import_card(
    holder: Organisation,
    data: bytes | str,
    *,
    expected_fingerprint: str,
    by=None,
    replace: bool = False,
) -> PartnerContractCard:
    """Register the other side's recipient card of a contract of `holder`. The card must
    be signed by the signing key of the organisation card `holder` registered for it, and
    `expected_fingerprint` (read out by the other side) must be its encryption
    fingerprint: there is no registration without that comparison."""
    try:
        card = parse_contract_card(data)
    except Refused as exc:
        _refuse(holder, exc)
    contract = (
        Contract.objects.select_related("ward", "contractor").filter(code=card.contract).first()
    )
    if contract is None or holder.pk not in (contract.ward_id, contract.contractor_id):
        message = _("カードの契約 %(contract)s は、あなたの組織の契約として登録されていません。")
        _refuse(holder, Refused("wrong_contract", message % {"contract": card.contract}))
    subject = _other_party(contract, holder)
    if card.org_code != subject.code:
        message = _("このカードは契約 %(contract)s の相手方 %(org)s のものではありません。") % {
            "contract": contract.code,
            "org": subject.name,
        }
        _refuse(holder, Refused("not_party", message))
    try:
        card.verify(orgkeys.partner_card(holder, subject).signing_key)
    except Refused as exc:
        _refuse(holder, exc)
    wanted = expected_fingerprint.replace(" ", "").upper()
    if not wanted or wanted != card.encryption_fingerprint.replace(" ", ""):
        message = _("読み上げられたフィンガープリントとカードが一致しません。登録しません。")
        _refuse(holder, Refused("fingerprint_differs", message))
    current = PartnerContractCard.objects.filter(
        holder=holder, contract=contract, subject=subject, retired_at__isnull=True
    ).first()
    if current and current.age_recipient == card.age_recipient:
        return current
    if current and not replace:
        message = _(
            "契約 %(contract)s の受け取り鍵カードはすでに登録されています(更新なら置き換えを指定)。"
        ) % {"contract": contract.code}
        _refuse(holder, Refused("card_exists", message))
    with transaction.atomic():
        if current:
            current.retired_at = timezone.now()
            current.save(update_fields=["retired_at"])
        row = PartnerContractCard.objects.create(
            holder=holder,
            contract=contract,
            subject=subject,
            age_recipient=card.age_recipient,
            encryption_fingerprint=card.encryption_fingerprint,
            card_json=card.to_bytes().decode("utf-8"),
            by=by if getattr(by, "pk", None) else None,
        )
        record(
            "contractkey.card_imported",
            obj=row,
            contract=contract,
            detail={
                "holder": holder.code,
                "subject": subject.code,
                "encryption_fingerprint": card.encryption_fingerprint,
                "replaced": bool(current),
            },
        )
    return row


def _refuse(holder: Organisation, refusal: Refused) -> NoReturn:
    """Log a refused card (outside any transaction, so the entry stays), then refuse it."""
    record_refusal("contractkey.card_refused", detail={"holder": holder.code, "code": refusal.code})
    raise refusal from None


def recipient_for(contract: Contract, sender: Organisation, recipient: Organisation) -> str:
    """The age recipient `sender` encrypts `contract`'s packages to: `recipient`'s
    contract card as registered by `sender`. No card, no package (never the organisation
    key: a package must become unreadable when the contract is erased)."""
    row = PartnerContractCard.objects.filter(
        holder=sender, contract=contract, subject=recipient, retired_at__isnull=True
    ).first()
    if row is None:
        raise Refused(
            "no_contract_card",
            _(
                "契約 %(contract)s の %(org)s の受け取り鍵カードが登録されていません。"
                "「鍵と公開鍵カード」の画面で、相手から受け取ったカードをフィンガープリントを"
                "照合して登録してから書き出してください。"
            )
            % {"contract": contract.code, "org": recipient.name},
        )
    return row.age_recipient


# --- erasure ------------------------------------------------------------------------------


def erase_contract_keys(contract: Contract, organisation: Organisation) -> list[str]:
    """The erasure step for `organisation`'s side of `contract`: destroy its data keys
    (vault.destroy_contract_keys) and with them its recipient key, whose secret is
    blanked too. Every copy of a package of the contract addressed to this side can then
    no longer be opened here. Returns the destroyed data key ids."""
    _require_party(contract, organisation)
    with transaction.atomic():
        destroyed = vault.destroy_contract_keys(contract, organisation)
        row = (
            ContractRecipientKey.objects.select_for_update(of=("self",), no_key=True)
            .filter(contract=contract, organisation=organisation, destroyed_at__isnull=True)
            .first()
        )
        if row is not None:
            row.secret_blob = b""
            row.destroyed_at = timezone.now()
            row.save(update_fields=["secret_blob", "destroyed_at"])
        record(
            "contract.keys_destroyed",
            contract=contract,
            detail={
                "organisation": organisation.code,
                "data_keys": destroyed,
                "recipient_key": row.encryption_fingerprint if row else "",
            },
        )
    return destroyed


# --- the witness code of an erasure --------------------------------------------------------

WITNESS_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY3479"  # no 0/O, 1/I, 2/Z, 5/S, 6/G, 8/B
WITNESS_CODE_LENGTH = 8


def witness_code(contract: Contract, organisation: Organisation, challenge: str) -> str | None:
    """The one-time code that answers `challenge` for an erasure of `contract`.

    Both sides compute the same code without talking to each other: it is keyed by the
    X25519 agreement of this side's recipient key of the contract with the other side's
    card registered here (the ward's secret with the contractor's public key gives the
    same secret as the contractor's secret with the ward's). So the ward's Genchi, on
    another installation, produces the code its staff member reads out, and the
    contractor's Genchi checks it before it destroys its key. None if either key is
    missing or destroyed (no code can be made or checked then)."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )

    from genchi.package_format.age import parse_identity, parse_recipient

    own = recipient_key(contract, organisation)
    identity = identity_of(own) if own is not None else None
    other = PartnerContractCard.objects.filter(
        holder=organisation,
        contract=contract,
        subject=_other_party(contract, organisation),
        retired_at__isnull=True,
    ).first()
    if identity is None or other is None:
        return None
    shared = X25519PrivateKey.from_private_bytes(parse_identity(identity)).exchange(
        X25519PublicKey.from_public_bytes(parse_recipient(other.age_recipient))
    )
    text = f"genchi-erasure-witness/v1|{contract.code}|{normalise_challenge(challenge)}"
    digest = hmac.new(shared, text.encode(), hashlib.sha256).digest()
    alphabet = WITNESS_ALPHABET
    return "".join(alphabet[b % len(alphabet)] for b in digest[:WITNESS_CODE_LENGTH])


def normalise_challenge(text: str) -> str:
    """What a person types, as compared: upper case, without spaces or hyphens."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


# --- the demo -----------------------------------------------------------------------------


@transaction.atomic
def exchange_demo_cards(contract: Contract) -> None:
    """Each side of `contract` makes its recipient key (if it has none) and the other side
    registers its card, comparing the fingerprint (one Genchi hosting both sides: the
    demo). The organisation cards must have been exchanged first."""
    for organisation in (contract.contractor, contract.ward):
        row = recipient_key(contract, organisation) or create_recipient_key(contract, organisation)
        import_card(
            _other_party(contract, organisation),
            row.card_json,
            expected_fingerprint=row.encryption_fingerprint,
        )
