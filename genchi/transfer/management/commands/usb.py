import datetime as dt
import json
from pathlib import Path

from genchi.core.commands import CommandError, GenchiCommand
from genchi.parties.models import Organisation
from genchi.transfer import ledger
from genchi.transfer.models import StickEvent, UsbStick

from ._common import organisation, refusal, user_or_none

METHODS = StickEvent.WipeMethod.values


class Command(GenchiCommand):
    help = "USBメモリ管理台帳: 登録・貸出・返却・点検・消去・一覧。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        reg = sub.add_parser("register", help="USBメモリを台帳に登録する")
        reg.add_argument("label", help="管理番号(例: USB-01)")
        reg.add_argument("--serial", required=True, help="製造番号")
        reg.add_argument("--capacity", type=int, required=True, help="容量(GB)")
        reg.add_argument("--model", default="", help="機種")
        lend = sub.add_parser("lend", help="貸し出す")
        lend.add_argument("label")
        lend.add_argument("--to", required=True, help="借受者の氏名")
        lend.add_argument("--to-org", help="借受者の組織コード")
        lend.add_argument(
            "--due", required=True, type=dt.date.fromisoformat, help="返却予定日 YYYY-MM-DD"
        )
        lend.add_argument("--purpose", default="")
        ret = sub.add_parser("return", help="返却を記録する")
        ret.add_argument("label")
        ret.add_argument("--by", dest="returned_by", default="", help="返却した人の氏名")
        ins = sub.add_parser("inspect", help="点検を記録する")
        ins.add_argument("label")
        result = ins.add_mutually_exclusive_group(required=True)
        result.add_argument("--ok", action="store_true", help="異常なし")
        result.add_argument("--ng", action="store_true", help="異常あり")
        ins.add_argument("--note", default="")
        wipe = sub.add_parser(
            "wipe",
            help="マウントしたUSBメモリの Genchi パッケージを上書き削除し、消去を記録する",
        )
        wipe.add_argument("path", help="USBメモリのマウント先フォルダ")
        wipe.add_argument("--stick", help="管理番号(省略時はフォルダ名)")
        wipe.add_argument(
            "--method", choices=METHODS, default=StickEvent.WipeMethod.OVERWRITE_DELETE
        )
        wipe.add_argument("--by", dest="performed_by", default="", help="実施者の氏名")
        wipe.add_argument("--note", default="")
        lst = sub.add_parser("list", help="台帳の一覧(現在の保管者・期限超過)")
        lst.add_argument("--json", action="store_true")
        for p in (reg, lend, ret, ins, wipe, lst):
            p.add_argument("--org", help="USBメモリを管理する区の組織コード")
            p.add_argument("--user", help="記録する区職員のユーザー名")

    def run(self, *args, action, org=None, user=None, **options):
        owner = organisation(org, kind=Organisation.Kind.WARD)
        by = user_or_none(user)
        try:
            getattr(self, f"_{action}")(owner, by, **options)
        except ledger.LedgerError as exc:
            raise refusal(exc) from None

    def _stick(self, owner, label) -> UsbStick:
        stick = UsbStick.objects.filter(owner=owner, label=label).first()
        if stick is None:
            raise CommandError(f"USBメモリ {label} は台帳に登録されていません。")
        return stick

    def _register(self, owner, by, *, label, serial, capacity, model, **_):
        stick = ledger.register_stick(
            owner, label=label, serial=serial, capacity_gb=capacity, model_name=model, by=by
        )
        self.stdout.write(
            f"登録しました: {stick.label}(製造番号 {stick.serial}、{stick.capacity_gb}GB)"
        )

    def _lend(self, owner, by, *, label, to, due, to_org=None, purpose="", **_):
        borrower_org = organisation(to_org) if to_org else None
        loan = ledger.lend_stick(
            self._stick(owner, label),
            borrower_name=to,
            borrower_org=borrower_org,
            due_on=due,
            purpose=purpose,
            by=by,
        )
        self.stdout.write(
            f"貸し出しました: {label} → {loan.borrower_name}(返却予定 {due.isoformat()})"
        )
        if loan.package is not None:
            self.stdout.write(f"この貸出で渡すパッケージ: {loan.package.package_id}")

    def _return(self, owner, by, *, label, **options):
        loan = ledger.return_stick(
            self._stick(owner, label), returned_by_name=options.get("returned_by", ""), by=by
        )
        self.stdout.write(f"返却を記録しました: {label}(返却者 {loan.returned_by_name})")

    def _inspect(self, owner, by, *, label, ok=False, ng=False, note="", **_):
        ledger.inspect_stick(self._stick(owner, label), ok=ok and not ng, note=note, by=by)
        self.stdout.write(f"点検を記録しました: {label}({'異常なし' if ok else '異常あり'})")

    def _wipe(self, owner, by, *, path, stick=None, method, note="", **options):
        folder = Path(path)
        if not folder.is_dir():
            raise CommandError(f"フォルダがありません: {path}")
        row = self._stick(owner, stick or folder.resolve().name)
        _event, report = ledger.wipe_stick(
            row,
            method=method,
            folder=folder,
            performed_by=options.get("performed_by", ""),
            note=note,
            by=by,
        )
        self.stdout.write(
            f"消去しました: {row.label} — Genchi パッケージ {len(report.removed)} 件を上書きして削除"
            f"({report.bytes_overwritten} バイト)。方法: {StickEvent.WipeMethod(method).label}"
        )
        for name in report.skipped:
            self.stderr.write(f"  リンクのため消去しませんでした: {name}")
        if method == StickEvent.WipeMethod.OVERWRITE_DELETE:
            self.stdout.write(
                "注意: フラッシュメモリはファイルの上書きでは完全に消去できません(NIST SP 800-88)。"
                "完全な消去には機器のセキュア消去機能か物理破壊を行い、その方法を台帳に記録してください。"
            )

    def _list(self, owner, by, *, json=False, **_):
        rows = ledger.ledger_rows(owner)
        if json:
            self.stdout.write(_dumps([_row_json(r) for r in rows]))
            return
        if not rows:
            self.stdout.write("登録されたUSBメモリはありません。")
        for r in rows:
            flag = " [期限超過]" if r.overdue else ""
            wipe = " [消去待ち]" if r.stick.needs_wipe else ""
            self.stdout.write(
                f"{r.stick.label:<12} {r.stick.get_status_display():<6} 保管者: {r.custodian}{flag}{wipe}"
            )


def _row_json(r) -> dict:
    return {
        "label": r.stick.label,
        "serial": r.stick.serial,
        "capacity_gb": r.stick.capacity_gb,
        "status": r.stick.status,
        "custodian": r.custodian,
        "due_on": r.loan.due_on.isoformat() if r.loan else None,
        "overdue": r.overdue,
        "needs_wipe": r.stick.needs_wipe,
        "last_wipe_method": r.last_wipe.method if r.last_wipe else None,
    }


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
