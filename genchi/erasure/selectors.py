"""Reads of erasures and certificates (D2): each organisation sees its own side.

`erasure_record(contract)` is the summary other apps read (the compliance checklist, the
auditor's view of a contract): what was erased and when on the contractor's side, and the
certificate's status on the ward's side."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from genchi.access.roles import CONTRACTOR_ADMINS, WARD_READERS, has_role
from genchi.parties.models import Contract
from genchi.parties.selectors import contracts_for

from .models import Erasure, ReceivedCertificate


@dataclass(frozen=True)
class ErasureRecord:
    """One contract's closing, as far as this installation knows it."""

    contract: str
    # The contractor's side (its erasure, when it ran here).
    erasure_state: str = ""  # Erasure.State value, "" when none here
    erased_at: Any = None
    certified_at: Any = None
    certificate_id: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    destroyed_keys: list[str] = field(default_factory=list)
    witnesses: list[dict] = field(default_factory=list)
    tablets_pending: list[dict] = field(default_factory=list)
    log_head: str = ""
    # The ward's side (the certificate it verified, when it did here).
    verified_at: Any = None
    verified_certificate_id: str = ""
    verified_counts: dict[str, int] = field(default_factory=dict)
    # (object type, id) of the erasure and the verified certificate, as the log names them.
    log_objects: list[tuple[str, str]] = field(default_factory=list)

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


def erasure_record(contract: Contract) -> ErasureRecord:
    """What was erased of `contract` and when, and whether the ward verified the
    certificate (verified time, certificate id). Not scoped: callers are selectors that
    already checked the person may see the contract."""
    erasure = Erasure.objects.filter(
        contract=contract, organisation_id=contract.contractor_id
    ).first()
    received = ReceivedCertificate.objects.filter(contract=contract).first()
    values: dict[str, Any] = {"contract": contract.code, "log_objects": []}
    if erasure is not None:
        values["log_objects"].append((erasure._meta.label_lower, str(erasure.pk)))
        cert = erasure.certificate or {}
        values |= {
            "erasure_state": erasure.state,
            "erased_at": erasure.erased_at,
            "certified_at": erasure.certified_at,
            "certificate_id": str(erasure.certificate_id) if erasure.certified_at else "",
            "counts": dict(cert.get("counts", {})),
            "destroyed_keys": list(cert.get("destroyed_keys", [])),
            "witnesses": list(cert.get("witnesses", [])),
            "tablets_pending": [t for t in cert.get("tablets", []) if not t.get("wiped_at")],
            "log_head": cert.get("log_head", ""),
        }
    if received is not None:
        values["log_objects"].append((received._meta.label_lower, str(received.pk)))
        values |= {
            "verified_at": received.verified_at,
            "verified_certificate_id": str(received.certificate_id),
            "verified_counts": dict(received.certificate.get("counts", {})),
        }
    return ErasureRecord(**values)


def erasable_contracts(user) -> QuerySet[Contract]:
    """The contracts whose erasure `user` may start or follow: the contractor's manager's."""
    if not has_role(user, CONTRACTOR_ADMINS):
        return Contract.objects.none()
    return contracts_for(user).filter(contractor_id=user.organisation_id)


def erasure_for(user, contract: Contract) -> Erasure | None:
    if not erasable_contracts(user).filter(pk=contract.pk).exists():
        return None
    return Erasure.objects.filter(contract=contract, organisation_id=contract.contractor_id).first()


def ward_contracts(user) -> QuerySet[Contract]:
    """The ward's contracts (its certificate page, its witness codes)."""
    if not has_role(user, WARD_READERS):
        return Contract.objects.none()
    return contracts_for(user).filter(ward_id=user.organisation_id)


def certificates_for(user) -> QuerySet[ReceivedCertificate]:
    return ReceivedCertificate.objects.filter(contract__in=ward_contracts(user)).select_related(
        "contract"
    )


def contract_list() -> list[dict]:
    """Every contract of this installation, each side held here: code, side, status and
    the time it was closed (ward) or erased (contractor). For `genchi contract list`."""
    rows = []
    erasures = {e.contract_id: e for e in Erasure.objects.all()}
    received = {r.contract_id: r for r in ReceivedCertificate.objects.all()}
    for contract in Contract.objects.select_related("ward", "contractor").order_by("code"):
        for side, organisation in (("ward", contract.ward), ("contractor", contract.contractor)):
            if not organisation.people.exists() and not _holds(contract, side):
                continue  # a side this installation does not host
            erasure = erasures.get(contract.pk) if side == "contractor" else None
            closed = received.get(contract.pk) if side == "ward" else None
            rows.append(
                {
                    "code": contract.code,
                    "side": side,
                    "status": contract.status,
                    "erasure": erasure.state if erasure else "",
                    "erased_at": erasure.erased_at.isoformat()
                    if erasure and erasure.erased_at
                    else None,
                    "closed_at": closed.verified_at.isoformat() if closed else None,
                }
            )
    return rows


def _holds(contract: Contract, side: str) -> bool:
    if side == "contractor":
        return Erasure.objects.filter(contract=contract).exists()
    return ReceivedCertificate.objects.filter(contract=contract).exists()
