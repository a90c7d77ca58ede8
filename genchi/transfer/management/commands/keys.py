"""`genchi keys`: this installation's organisation key pairs and the partners' public key
cards (create, export, import, list). The master key is `genchi master-key` (vault)."""

from pathlib import Path

from genchi.core.commands import CommandError, GenchiCommand
from genchi.transfer import orgkeys
from genchi.transfer.models import OrganisationKeyPair, PartnerKeyCard
from genchi.transfer.refusals import Refused

from ._common import organisation, refusal


class Command(GenchiCommand):
    help = "組織の鍵ペアと相手の公開鍵カードを扱います(create / export / import / list)。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="組織の暗号化鍵・署名鍵のペアを作る")
        create.add_argument("--org", required=True, help="組織コード")
        create.add_argument("--replace", action="store_true", help="既存の鍵ペアを廃止して作り直す")
        export = sub.add_parser("export", help="組織の公開鍵カードを書き出す(ファイル・QRコード)")
        export.add_argument("--org", required=True)
        export.add_argument("--out", help="公開鍵カードの書き出し先 (.json)")
        export.add_argument("--qr", help="QRコード (SVG) の書き出し先")
        imp = sub.add_parser("import", help="相手の公開鍵カードを登録する")
        imp.add_argument("file", help="公開鍵カード (.json)")
        imp.add_argument("--org", required=True, help="登録する側(自分)の組織コード")
        imp.add_argument(
            "--fingerprint",
            default="",
            help="相手から読み上げられた署名鍵または暗号化鍵のフィンガープリント(照合して登録)",
        )
        imp.add_argument("--replace", action="store_true", help="相手の鍵の更新として置き換える")
        sub.add_parser("list", help="組織の鍵ペアと登録済みの公開鍵カードを一覧する")

    def run(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except Refused as exc:
            raise refusal(exc) from None

    def _create(self, *, org, replace=False, **_):
        row = orgkeys.create_key_pair(organisation(org), replace=replace)
        self.stdout.write(f"鍵ペアを作成しました: {row.organisation.name}")
        self._fingerprints(row.encryption_fingerprint, row.signing_fingerprint)

    def _export(self, *, org, out=None, qr=None, **_):
        own = organisation(org)
        data = orgkeys.export_card(own)
        card = orgkeys.own_card(own)
        if out:
            Path(out).write_bytes(data)
            self.stdout.write(f"公開鍵カードを書き出しました: {Path(out).name}")
        else:
            self.stdout.write(data.decode("utf-8").rstrip("\n"))
        if qr:
            svg = card.qr_svg(title=f"{card.org_code} 公開鍵カード")
            Path(qr).write_text(svg, encoding="utf-8")
            self.stdout.write(f"QRコードを書き出しました: {Path(qr).name}")
        self._fingerprints(card.encryption_fingerprint, card.signing_fingerprint)
        self.stdout.write("相手とフィンガープリントを読み合わせて照合してください。")

    def _import(self, *, file, org, fingerprint="", replace=False, **_):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"ファイルがありません: {file}")
        row = orgkeys.import_card(
            organisation(org),
            path.read_bytes()[: 64 * 1024],
            expected_fingerprint=fingerprint,
            replace=replace,
        )
        self.stdout.write(f"公開鍵カードを登録しました: {row.subject.name}({row.subject.code})")
        self._fingerprints(row.encryption_fingerprint, row.signing_fingerprint)
        if not fingerprint:
            self.stdout.write(
                "注意: フィンガープリントを照合していません。相手と読み合わせて確認してください。"
            )

    def _list(self, **_):
        for row in OrganisationKeyPair.objects.filter(retired_at__isnull=True).select_related(
            "organisation"
        ):
            self.stdout.write(f"[自組織] {row.organisation.code} {row.organisation.name}")
            self._fingerprints(row.encryption_fingerprint, row.signing_fingerprint)
        for card in PartnerKeyCard.objects.filter(retired_at__isnull=True).select_related(
            "holder", "subject"
        ):
            checked = "照合済み" if card.fingerprints_compared else "未照合"
            self.stdout.write(
                f"[相手] {card.holder.code} が登録: {card.subject.code} {card.org_name}({checked})"
            )
            self._fingerprints(card.encryption_fingerprint, card.signing_fingerprint)

    def _fingerprints(self, encryption: str, signing: str) -> None:
        self.stdout.write(f"  暗号化鍵: {encryption}")
        self.stdout.write(f"  署名鍵:   {signing}")
