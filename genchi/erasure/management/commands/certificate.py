"""`genchi certificate verify FILE` (ward side): import and verify an erasure certificate
package; exit 0 and the contract closed, or exit 1 with the reason."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from genchi.core.commands import GenchiCommand
from genchi.transfer import services as transfer


class Command(GenchiCommand):
    help = "消去証明書: 検証して契約を終了する (verify)"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="消去証明書のパッケージを検証し、契約を終了する(区)")
        verify.add_argument("file", help="証明書パッケージ (.genchi.age)")
        verify.add_argument("--giver", default="", help="パッケージを渡した人の氏名")

    def run(self, *args, **options) -> None:
        try:
            result = transfer.receive_package(
                options["file"],
                kind="certificate",
                giver_name=options["giver"],
                max_scrypt_work_factor=transfer.COMMAND_MAX_SCRYPT_WORK_FACTOR,
            )
        except transfer.Refusal as exc:
            raise CommandError(transfer.refusal_message(exc)) from None
        contract = result.package.contract
        contract.refresh_from_db()
        self.stdout.write(
            f"消去証明書を検証しました。契約 {contract.code} は{contract.get_status_display()}です。"
        )
