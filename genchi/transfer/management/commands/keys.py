"""`genchi keys`: this installation's organisation key pairs and the partners' public key
cards (create, export, import, list); the contract recipient keys and their cards
(contract-create, contract-export, contract-import) and their destruction when a contract
is erased (contract-erase); the master key written out for paper (export-master; its
rotation is `genchi master-key`, vault)."""

from pathlib import Path

from genchi.audit.chain import record
from genchi.core.commands import CommandError, GenchiCommand
from genchi.core.terminal import terminal_qr
from genchi.parties.models import Contract
from genchi.transfer import contract_keys, orgkeys
from genchi.transfer.models import (
    ContractRecipientKey,
    OrganisationKeyPair,
    PartnerContractCard,
    PartnerKeyCard,
)
from genchi.transfer.refusals import Refused
from genchi.vault.master import MasterKeyError, master_key_to_paper, read_master_key

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
        ccreate = sub.add_parser("contract-create", help="契約の受け取り鍵を作り、カードを発行する")
        ccreate.add_argument("--contract", required=True, help="契約コード")
        ccreate.add_argument("--org", required=True, help="受け取る側(自分)の組織コード")
        cexport = sub.add_parser("contract-export", help="契約の受け取り鍵カードを書き出す")
        cexport.add_argument("--contract", required=True, help="契約コード")
        cexport.add_argument("--org", required=True, help="受け取る側(自分)の組織コード")
        cexport.add_argument("--out", help="カードの書き出し先 (.json)")
        cexport.add_argument("--qr", help="QRコード (SVG) の書き出し先")
        cimport = sub.add_parser("contract-import", help="相手の契約の受け取り鍵カードを登録する")
        cimport.add_argument("file", help="契約の受け取り鍵カード (.json)")
        cimport.add_argument("--org", required=True, help="登録する側(自分)の組織コード")
        cimport.add_argument(
            "--fingerprint",
            required=True,
            help="相手から読み上げられた受け取り鍵のフィンガープリント(照合して登録)",
        )
        cimport.add_argument("--replace", action="store_true", help="カードの更新として置き換える")
        cerase = sub.add_parser(
            "contract-erase",
            help="契約の消去: 自組織側のデータ鍵と受け取り鍵を破棄する(元に戻せません)",
        )
        cerase.add_argument("--contract", required=True, help="契約コード")
        cerase.add_argument("--org", required=True, help="消去する側(自分)の組織コード")
        cerase.add_argument("--confirm", required=True, help="確認のため、もう一度契約コードを入力")
        sub.add_parser(
            "export-master",
            help="マスター鍵を紙に控えるため、文字列と QR コードで表示する(バックアップの復元に使う)",
        )

    def run(self, *args, action, **options):
        try:
            getattr(self, "_" + action.replace("-", "_"))(**options)
        except Refused as exc:
            raise refusal(exc) from None

    def _export_master(self, **_):
        try:
            master = read_master_key()
        except MasterKeyError as exc:
            raise CommandError(str(exc)) from None
        paper = master_key_to_paper(master)
        record("master_key.exported", detail={"master_key_id": master.key_id})
        self.stdout.write(f"マスター鍵 {master.key_id}(バックアップの復元に必要です)")
        self.stdout.write(
            "紙に写すか印刷して、バックアップとは別の場所(金庫など)に保管してください。"
        )
        self.stdout.write("")
        self.stdout.write(paper)
        self.stdout.write(terminal_qr(paper), ending="")

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
        for key in ContractRecipientKey.objects.select_related("contract", "organisation"):
            state = f"破棄 {key.destroyed_at:%Y-%m-%d %H:%M}" if key.destroyed_at else "有効"
            self.stdout.write(
                f"[契約の受け取り鍵] {key.contract.code} {key.organisation.code}({state})"
            )
            self.stdout.write(f"  暗号化鍵 {key.encryption_fingerprint}")
        for card in PartnerContractCard.objects.filter(retired_at__isnull=True).select_related(
            "holder", "contract", "subject"
        ):
            self.stdout.write(
                f"[相手の契約の受け取り鍵] {card.holder.code} が登録: "
                f"{card.contract.code} {card.subject.code}"
            )
            self.stdout.write(f"  暗号化鍵 {card.encryption_fingerprint}")

    def _contract_create(self, *, contract, org, **_):
        row = contract_keys.create_recipient_key(_contract(contract), organisation(org))
        self.stdout.write(f"契約 {contract} の受け取り鍵を作成しました: {row.organisation.name}")
        self.stdout.write(f"  受け取り鍵: {row.encryption_fingerprint}")

    def _contract_export(self, *, contract, org, out=None, qr=None, **_):
        row = contract_keys.recipient_key(_contract(contract), organisation(org))
        if row is None:
            raise CommandError(
                f"契約 {contract} の受け取り鍵がありません。先に contract-create で作成してください。"
            )
        data = contract_keys.export_card(row)
        if out:
            Path(out).write_bytes(data)
            self.stdout.write(f"受け取り鍵カードを書き出しました: {Path(out).name}")
        else:
            self.stdout.write(data.decode("utf-8").rstrip("\n"))
        if qr:
            svg = contract_keys.own_card(row).qr_svg(title=f"{contract} 受け取り鍵カード")
            Path(qr).write_text(svg, encoding="utf-8")
            self.stdout.write(f"QRコードを書き出しました: {Path(qr).name}")
        self.stdout.write(f"  受け取り鍵: {row.encryption_fingerprint}")
        self.stdout.write("相手とフィンガープリントを読み合わせて照合してください。")

    def _contract_import(self, *, file, org, fingerprint, replace=False, **_):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"ファイルがありません: {file}")
        row = contract_keys.import_card(
            organisation(org),
            path.read_bytes()[: 64 * 1024],
            expected_fingerprint=fingerprint,
            replace=replace,
        )
        self.stdout.write(
            f"契約 {row.contract.code} の受け取り鍵カードを登録しました: {row.subject.name}"
        )
        self.stdout.write(f"  受け取り鍵: {row.encryption_fingerprint}")

    def _contract_erase(self, *, contract, org, confirm, **_):
        if confirm != contract:
            raise CommandError("確認の契約コードが一致しません。何も破棄していません。")
        destroyed = contract_keys.erase_contract_keys(_contract(contract), organisation(org))
        self.stdout.write(
            f"契約 {contract} の {org} 側の鍵を破棄しました(データ鍵 {len(destroyed)} 個と受け取り鍵)。"
            "この契約のパッケージは、コピーが残っていてももう開けません。"
        )

    def _fingerprints(self, encryption: str, signing: str) -> None:
        self.stdout.write(f"  暗号化鍵: {encryption}")
        self.stdout.write(f"  署名鍵:   {signing}")


def _contract(code: str) -> Contract:
    contract = Contract.objects.select_related("ward", "contractor").filter(code=code).first()
    if contract is None:
        raise CommandError(f"契約 {code} が見つかりません。")
    return contract
