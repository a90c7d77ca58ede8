"""`genchi results import FILE` and `genchi results summary --contract CODE [--json]`: the
ward's side of the survey's results, the same code as the pages."""

from __future__ import annotations

import json

from django.core.management.base import CommandError, CommandParser

from genchi.core.commands import GenchiCommand
from genchi.parties.models import Contract
from genchi.transfer import services as transfer
from genchi.transfer.refusals import refusal_message

from ... import selectors


class Command(GenchiCommand):
    help = "調査結果: 結果パッケージの取り込み (import) と集計 (summary)"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="結果パッケージを取り込む(区)")
        imp.add_argument("file", help="結果パッケージ (.genchi.age)")
        imp.add_argument("--giver", default="", help="パッケージを渡した人の氏名")
        summ = sub.add_parser("summary", help="契約の調査結果の集計")
        summ.add_argument("--contract", required=True, help="契約コード")
        summ.add_argument("--json", action="store_true", help="JSON で出力する")

    def run(self, *args, **options) -> None:
        if options["action"] == "import":
            self._import(options["file"], options["giver"])
        else:
            self._summary(options["contract"], options["json"])

    def _import(self, path: str, giver: str) -> None:
        try:
            result = transfer.receive_package(
                path,
                kind="results",
                giver_name=giver,
                max_scrypt_work_factor=transfer.COMMAND_MAX_SCRYPT_WORK_FACTOR,
            )
        except transfer.Refusal as exc:
            raise CommandError(refusal_message(exc)) from None
        self.stdout.write(
            f"{result.created} 件の調査結果を取り込みました(契約 {result.package.contract.code})。"
            "受け渡し票の内容を確認してください。"
        )

    def _summary(self, code: str, as_json: bool) -> None:
        contract = Contract.objects.filter(code=code).first()
        if contract is None:
            raise CommandError(f"契約 {code} がありません。")
        summary = selectors.summary(contract)
        if as_json:
            self.stdout.write(json.dumps(summary.as_json(), ensure_ascii=False, indent=2))
            return
        self.stdout.write(
            f"{contract.code}: 渡した件数 {summary.sent} / 結果受領 {summary.received} / "
            f"未受領 {summary.outstanding}"
        )
        for code_, count in summary.by_outcome.items():
            self.stdout.write(f"  {code_}: {count}")
