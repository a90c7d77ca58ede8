import datetime as dt
import json
from pathlib import Path

from django.utils import timezone

from genchi.core.commands import CommandError, GenchiCommand
from genchi.core.wareki import format_datetime
from genchi.transfer import handlers, services
from genchi.transfer.models import UsbStick
from genchi.transfer.services import refusal_message

from ._common import read_passphrase, refusal, user_or_none

# What inspect checked, said exactly: the signature proves the manifest only; the content
# (every member against the manifest) is checked when the signature is valid.
SIGNATURE_LABELS = {
    "valid": "有効(登録済みの署名鍵で検証)",
    "invalid": "無効(登録済みの署名鍵と一致しません)",
    "unsigned": "署名なし",
    "not_checked": "未検証(送り手の公開鍵が未登録です。以下のマニフェストの内容は信頼できません)",
}
CONTENT_LABELS = {
    "valid": "検証済み(全ファイルの大きさ・ハッシュ値と件数がマニフェストと一致)",
    "not_checked": "未検証(マニフェストの署名が有効でないため、照合していません)",
}
DIGEST_CAVEATS = {
    "invalid": "(マニフェストのもの。内容が一致しないため、票と照合しないでください)",
    "not_checked": "(マニフェストのもの。内容は検証していません)",
}


class Command(GenchiCommand):
    help = "暗号化パッケージの書き出し(区)・取り込み(受託者)・内容確認。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="封緘済みバッチをパッケージに書き出す")
        export.add_argument("--batch", type=int, required=True, help="バッチID")
        export.add_argument("--out", required=True, help="書き出し先(USBメモリのフォルダ)")
        export.add_argument("--stick", help="USBメモリの管理番号(台帳に記録)")
        export.add_argument("--passphrase-file", help="パスワード方式で暗号化(1行目を使用)")
        export.add_argument("--user", help="操作する区職員のユーザー名(票に記載)")
        imp = sub.add_parser("import", help="パッケージを検証して取り込む")
        imp.add_argument("file")
        imp.add_argument("--contract", help="契約コード(指定すると一致しなければ拒否)")
        imp.add_argument("--passphrase-file")
        imp.add_argument("--user", help="受け取った取扱責任者・取扱者のユーザー名")
        imp.add_argument("--giver", default="", help="渡した区職員の氏名(票の記載どおり)")
        imp.add_argument("--stick", default="", help="USBメモリの管理番号(票の記載どおり)")
        imp.add_argument(
            "--handed-at",
            default="",
            help="受け渡し日時(票の記載どおり、例: 2026-12-01 14:05)。省略すると今",
        )
        inspect = sub.add_parser(
            "inspect", help="マニフェストと署名の状態を表示(個人情報は表示しない)"
        )
        inspect.add_argument("file")
        inspect.add_argument("--passphrase-file")
        inspect.add_argument("--json", action="store_true")

    def run(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _export(self, *, batch, out, stick=None, passphrase_file=None, user=None, **_):
        source = handlers.source_for("cases")
        found = source.get(batch) if source else None
        if found is None:
            raise CommandError(f"バッチ {batch} が見つかりません。")
        stick_row = None
        if stick:
            stick_row = UsbStick.objects.filter(owner=found.contract.ward, label=stick).first()
            if stick_row is None:
                raise CommandError(f"USBメモリ {stick} は台帳に登録されていません。")
        out_dir = Path(out)
        if not out_dir.is_dir():
            raise CommandError(f"書き出し先のフォルダがありません: {out}")
        try:
            result = services.send_item(
                "cases",
                batch,
                out_dir,
                by=user_or_none(user),
                stick=stick_row,
                passphrase=read_passphrase(passphrase_file),
            )
        except services.Refusal as exc:
            raise refusal(exc) from None
        p = result.package
        self.stdout.write(f"書き出しました: {result.path.name}")
        self.stdout.write(f"  パッケージID: {p.package_id}")
        self.stdout.write(f"  ダイジェスト: {p.digest}")
        self.stdout.write(f"  ファイルの SHA-256: {p.file_sha256}")
        self.stdout.write(f"  件数:         {p.record_count}")
        self.stdout.write(f"  受け渡し票:   {result.slip.number}(発行済み)")

    def _import(
        self,
        *,
        file,
        contract=None,
        passphrase_file=None,
        user=None,
        giver="",
        stick="",
        handed_at="",
        **_,
    ):
        when = _handed_at(handed_at)
        try:
            result = services.import_cases_package(
                file,
                by=user_or_none(user),
                contract_code=contract,
                passphrase=read_passphrase(passphrase_file),
                giver_name=giver,
                stick_label=stick,
                max_scrypt_work_factor=services.COMMAND_MAX_SCRYPT_WORK_FACTOR,
                handed_at=when,
            )
        except services.Refusal as exc:
            raise refusal(exc) from None
        p = result.package
        self.stdout.write(f"取り込みました: {p.contract.code} {result.created} 件")
        self.stdout.write(f"  パッケージID: {p.package_id}")
        self.stdout.write(f"  ダイジェスト: {p.digest}")
        self.stdout.write(
            f"  受け渡し票:   {result.slip.number}(受領済み。票の内容を確認して確認済みにしてください)"
        )

    def _inspect(self, *, file, passphrase_file=None, json=False, **_):
        if not Path(file).is_file():
            raise CommandError(f"ファイルがありません: {file}")
        try:
            found = services.inspect_file(file, passphrase=read_passphrase(passphrase_file))
        except services.Refusal as exc:
            raise refusal(exc) from None
        info, m = found.info, found.info.manifest
        summary = {
            "file": Path(file).name,
            "size": info.size,
            "file_sha256": info.file_sha256,
            "digest": info.digest,
            "encryption": info.encryption,
            "opened_with_key_of": found.opened_as,
            "signature": info.signature,
            "content": info.content,
            "content_refusal": info.content_refusal.code if info.content_refusal else None,
            "manifest": None
            if m is None
            else {
                "package_id": m.package_id,
                "kind": m.kind,
                "contract": m.contract,
                "batch": m.batch,
                "sender": m.sender,
                "recipient": m.recipient,
                "created_at": m.created_at,
                "record_count": m.record_count,
                "photo_count": m.photo_count,
                "members": [e.to_json() for e in m.members],
            },
        }
        if json:
            self.stdout.write(_json_dumps(summary))
            return
        self.stdout.write(f"ファイル:   {summary['file']}({info.size} バイト)")
        self.stdout.write(f"ファイルの SHA-256: {info.file_sha256}")
        self.stdout.write(
            f"暗号化方式: {'公開鍵 (X25519)' if info.encryption == 'x25519' else 'パスワード (scrypt)' if info.encryption == 'scrypt' else info.encryption}"
        )
        if m is None:
            self.stdout.write(
                "マニフェスト: この Genchi の鍵では開けません(鍵またはパスワードが違います)。"
            )
            return
        from datetime import datetime

        self.stdout.write(
            f"マニフェストの署名: {SIGNATURE_LABELS.get(info.signature, info.signature)}"
        )
        if info.content == "invalid" and info.content_refusal is not None:
            problem = info.content_refusal
            self.stdout.write(
                f"内容:       不正 — {refusal_message(problem)} [{problem.code}]"
                "(このパッケージは取り込めません)"
            )
        else:
            self.stdout.write(f"内容:       {CONTENT_LABELS[info.content]}")
        if info.digest:
            caveat = "" if info.content == "valid" else DIGEST_CAVEATS[info.content]
            self.stdout.write(f"ダイジェスト: {info.digest}{caveat}")
        self.stdout.write(f"パッケージID: {m.package_id}")
        self.stdout.write(f"種類:       {m.kind}  契約: {m.contract}  バッチ: {m.batch or '—'}")
        self.stdout.write(f"送り手:     {m.sender} → 受け手: {m.recipient}")
        self.stdout.write(f"作成日時:   {format_datetime(datetime.fromisoformat(m.created_at))}")
        self.stdout.write(f"件数:       {m.record_count}  写真: {m.photo_count}")
        for e in m.members:
            self.stdout.write(f"  {e.name}  {e.size} バイト  {e.sha256}")


def _json_dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _handed_at(text: str) -> dt.datetime | None:
    """The handover time as typed from the slip (local time), or None for now."""
    if not text.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"受け渡し日時の形式が違います: {text}(例: 2026-12-01 14:05)") from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
