"""`genchi report …`: closing a survey from the command line (issue 15 item 6).

build:  the report (報告書) PDF and XLSX of a contract into a folder.
return: the result package(s) back to the ward (signed, encrypted to the ward, with the
        return slip), one per cases package received; the cases move to 報告済み.

Exit 1 with a Japanese message when the contract is unknown or closing is blocked (the
cases not done are named).
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError

from genchi.core.commands import CommandError, GenchiCommand
from genchi.fieldwork import closing
from genchi.parties.models import Contract
from genchi.transfer.management.commands._common import refusal, user_or_none
from genchi.transfer.services import Refusal


class Command(GenchiCommand):
    help = "調査の締め: 報告書(PDF・XLSX)の作成と、結果パッケージの返却。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{build,return}")
        build = sub.add_parser("build", help="報告書の PDF と XLSX をフォルダに書き出します")
        back = sub.add_parser(
            "return", help="結果パッケージを書き出し、返却の受け渡し票を発行します"
        )
        for p in (build, back):
            p.add_argument("--contract", required=True, help="契約コード")
            p.add_argument("--out", required=True, help="書き出し先のフォルダ")
            p.add_argument("--user", help="操作する利用者(ユーザー名)")

    def run(self, *args, action: str, contract: str, out: str, user=None, **options):
        found = Contract.objects.select_related("ward", "contractor").filter(code=contract).first()
        if found is None:
            raise CommandError(f"契約 {contract} が見つかりません。")
        out_dir = Path(out)
        if not out_dir.is_dir():
            raise CommandError(f"書き出し先のフォルダがありません: {out}")
        by = user_or_none(user)
        try:
            if action == "build":
                pdf, xlsx = closing.build_report(found, out_dir, by=by)
                self.stdout.write(f"報告書を書き出しました: {pdf.name}, {xlsx.name}")
                return
            for r in closing.return_results(found, out_dir, by=by):
                self.stdout.write(f"結果パッケージを書き出しました: {r.path.name}")
                self.stdout.write(f"  パッケージID: {r.package_id}(回答先 {r.answers})")
                self.stdout.write(f"  件数: {r.cases} 件、写真 {r.photos} 枚")
                self.stdout.write(f"  受け渡し票: {r.slip_number}(発行済み)")
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except Refusal as exc:
            raise refusal(exc) from None
