"""The `certificate` package kind (D10): the contractor sends its erasure's certificate,
the ward verifies it and closes the contract (registered in ErasureConfig.ready).

The handover has already checked what the format promises (signature by the contractor's
registered signing key, the contract, sender and recipient, the kind, a package never
imported before). The receiver checks what only the ward knows: that the certificate
names exactly the cases packages this ward sent for the contract and the results
packages it received, with the same counts, and that the contract has no certificate yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from genchi.audit.chain import record
from genchi.package_format import Refused
from genchi.parties import services as parties
from genchi.transfer import selectors as transfer_selectors
from genchi.transfer.handlers import IncomingPackage, Sendable

from .models import Erasure, ReceivedCertificate

OUT, IN = "out", "in"  # transfer's Package.Direction values


class CertificateSource:
    kind = "certificate"
    side = "contractor"

    def sendable(self, contracts: Any) -> list[Sendable]:
        rows = Erasure.objects.filter(
            contract__in=contracts, state=Erasure.State.CERTIFIED, package__isnull=True
        ).select_related("contract")
        return [self._item(row) for row in rows]

    def get(self, key: int) -> Sendable | None:
        row = Erasure.objects.select_related("contract").filter(pk=key).first()
        return self._item(row) if row else None

    @staticmethod
    def _item(row: Erasure) -> Sendable:
        return Sendable(
            key=row.pk,
            contract=row.contract,
            code=f"CERT-{str(row.certificate_id)[:8]}",
            label=_("消去証明書 %(contract)s") % {"contract": row.contract.code},
            record_count=1,
            ready_at=row.certified_at,
        )

    def check(self, item: Sendable) -> None:
        row = Erasure.objects.get(pk=item.key)
        if row.state != Erasure.State.CERTIFIED:
            raise Refused("no_item", _("消去証明書はまだ発行されていません。"))
        if row.package_id is not None:
            raise Refused("no_item", _("この消去証明書はすでに書き出しています。"))

    def records(self, item: Sendable) -> Iterator[Mapping[str, Any]]:
        yield Erasure.objects.get(pk=item.key).certificate

    def mark_sent(self, item: Sendable, package: Any) -> None:
        row = Erasure.objects.select_for_update(of=("self",), no_key=True).get(pk=item.key)
        if row.package_id is not None:
            raise Refused("no_item", _("この消去証明書はすでに書き出しています。"))
        row.package = package
        row.save(update_fields=["package"])


def _ids(packages: list[dict]) -> dict[str, int]:
    return {p["package_id"]: p["records"] for p in packages}


def _listed(ids) -> str:
    return "、".join(sorted(i[:8] for i in ids))


class CertificateReceiver:
    kind = "certificate"
    side = "ward"

    def receive(self, incoming: IncomingPackage) -> int:
        contract = incoming.contract
        records = list(incoming.records)
        if len(records) != 1 or not isinstance(records[0].get("certificate_id"), str):
            raise Refused(
                "certificate_shape", _("消去証明書のパッケージには証明書が1件だけ含まれます。")
            )
        data = records[0]
        self._check(contract, data)
        received = ReceivedCertificate.objects.create(
            contract=contract,
            certificate_id=uuid.UUID(data["certificate_id"]),
            package=incoming.package,
            certificate=data,
            by=incoming.package.by,
        )
        record(
            "erasure.certificate_verified",
            obj=received,
            contract=contract,
            detail={
                "certificate_id": data["certificate_id"],
                "package_id": str(incoming.package.package_id),
                "log_head": data.get("log_head", ""),
            },
        )
        try:
            parties.close_contract(
                contract,
                reason="erasure_certificate",
                detail={"certificate_id": data["certificate_id"]},
            )
        except ValidationError as exc:
            raise Refused("certificate_already", exc.messages[0]) from None
        return 1

    @staticmethod
    def _check(contract: Any, data: dict) -> None:
        try:
            certificate_id = uuid.UUID(str(data["certificate_id"]))
            named_contract = data["contract"]
            listed_sent = _ids(data["packages_received"])
            listed_results = _ids(data["results_returned"])
            counted = int(data["counts"]["cases"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise Refused(
                "certificate_shape", _("消去証明書の内容が読み取れません(項目が足りません)。")
            ) from None
        if named_contract != contract.code:
            raise Refused(
                "certificate_other_contract",
                _(
                    "この証明書は別の契約(%(named)s)のものです。契約 %(contract)s の証明書ではありません。"
                )
                % {"named": named_contract, "contract": contract.code},
            )
        if ReceivedCertificate.objects.filter(contract=contract).exists() or (
            ReceivedCertificate.objects.filter(certificate_id=certificate_id).exists()
        ):
            raise Refused(
                "certificate_already",
                _("契約 %(contract)s の消去証明書はすでに検証済みです。")
                % {"contract": contract.code},
            )
        sent = _ids(
            transfer_selectors.contract_packages(
                contract, contract.ward, direction=OUT, kind="cases"
            )
        )
        results = _ids(
            transfer_selectors.contract_packages(
                contract, contract.ward, direction=IN, kind="results"
            )
        )
        if set(listed_sent) != set(sent):
            raise Refused(
                "certificate_packages",
                _(
                    "証明書に書かれた受領パッケージが、区が渡したパッケージと一致しません"
                    "(証明書にない: %(missing)s / 区が渡していない: %(extra)s)。"
                )
                % {
                    "missing": _listed(set(sent) - set(listed_sent)) or "—",
                    "extra": _listed(set(listed_sent) - set(sent)) or "—",
                },
            )
        if set(listed_results) != set(results):
            raise Refused(
                "certificate_results",
                _(
                    "証明書に書かれた返却済みの結果が、区が受け取った結果パッケージと一致しません"
                    "(証明書にない: %(missing)s / 区が受け取っていない: %(extra)s)。"
                )
                % {
                    "missing": _listed(set(results) - set(listed_results)) or "—",
                    "extra": _listed(set(listed_results) - set(results)) or "—",
                },
            )
        differing = [pid for pid, n in listed_sent.items() if sent[pid] != n]
        if differing or counted != sum(sent.values()):
            raise Refused(
                "certificate_counts",
                _(
                    "証明書の件数が区の記録と一致しません(消去した案件 %(counted)d 件、"
                    "区が渡した案件 %(sent)d 件)。"
                )
                % {"counted": counted, "sent": sum(sent.values())},
            )


certificate_source = CertificateSource()
certificate_receiver = CertificateReceiver()
