"""`genchi contract list [--json]` and `genchi contract erase CODE --witness NAME [--yes]`:
the contracts of this installation and the contractor's erasure, the same services as the
pages (genchi.erasure.services)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import CommandError, CommandParser

from genchi.core.commands import GenchiCommand
from genchi.parties.models import Contract
from genchi.transfer import services as transfer

from ... import selectors, services
from ...certificate import certificate_pdf, pending_tablets


class Command(GenchiCommand):
    help = "契約: 一覧 (list) と受託者側の消去 (erase)"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="この Genchi の契約の一覧(区・受託者の別、状態)")
        listing.add_argument("--json", action="store_true", help="JSON で出力する")
        erase = sub.add_parser("erase", help="受託者側の契約のデータを消去し、消去証明書を発行する")
        erase.add_argument("code", help="契約コード")
        erase.add_argument("--witness", required=True, help="立ち会う区の職員の氏名")
        erase.add_argument(
            "--out", default=".", help="証明書(PDF とパッケージ)の書き出し先フォルダ"
        )
        erase.add_argument("--yes", action="store_true", help="確認せずに消去する")

    def run(self, *args, **options) -> None:
        if options["action"] == "list":
            self._list(options["json"])
        else:
            self._erase(options["code"], options["witness"], Path(options["out"]), options["yes"])

    def _list(self, as_json: bool) -> None:
        rows = selectors.contract_list()
        if as_json:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        for row in rows:
            when = row["closed_at"] or row["erased_at"] or ""
            self.stdout.write(f"{row['code']}\t{row['side']}\t{row['status']}\t{when}")

    def _erase(self, code: str, witness: str, out: Path, yes: bool) -> None:
        contract = Contract.objects.select_related("ward", "contractor").filter(code=code).first()
        if contract is None:
            raise CommandError(f"契約 {code} がありません。")
        if not out.is_dir():
            raise CommandError(f"書き出し先のフォルダがありません: {out}")
        if not yes:
            answer = input(
                f"契約 {code} の受託者側のデータを、{witness} さんの立会いのもとで消去します。"
                "取り消せません。続けますか [y/N]: "
            )
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("中止しました。")
        try:
            erasure = services.start_erasure(contract, by=None)
            if erasure.state == erasure.State.AWAITING_WITNESS:
                erasure = services.confirm_named(erasure, witness_name=witness)
            erasure = services.erase(erasure, by=None)
            package_path = None
            if erasure.package_id is None:
                package_path = services.write_certificate_package(erasure, out, by=None).path
        except services.ErasureRefused as exc:
            raise CommandError(exc.message) from None
        except transfer.Refusal as exc:
            raise CommandError(transfer.refusal_message(exc)) from None
        pdf_path = out / f"erasure-{contract.code}.pdf"
        pdf_path.write_bytes(certificate_pdf(erasure.certificate))
        self.stdout.write(f"消去証明書 {erasure.certificate_id}")
        self.stdout.write(f"PDF: {pdf_path}")
        if package_path:
            self.stdout.write(f"証明書パッケージ: {package_path}")
        for tablet in pending_tablets(erasure.certificate):
            self.stdout.write(
                f"未接続のタブレット: {tablet['label'] or tablet['device']} ({tablet['surveyor']})"
            )
