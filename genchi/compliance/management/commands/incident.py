"""`genchi incident send LABEL --out DIR` and `genchi incident import FILE`: an incident
told to the other side's Genchi as a signed package of kind `incident` (S19), the same
services as the incident page and the handover import page."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError, CommandParser

from genchi.core.commands import GenchiCommand
from genchi.transfer import services as transfer

from ...documents import first_report_pdf
from ...incidents import send_incident
from ...models import Incident


def _incident(label: str) -> Incident:
    """An incident by its label (`CONTRACT-NNN`, as on the report)."""
    code, _sep, number = label.rpartition("-")
    incident = (
        Incident.objects.select_related("contract")
        .filter(contract__code=code, number=int(number))
        .first()
        if code and number.isdigit()
        else None
    )
    if incident is None:
        raise CommandError(f"事故報告 {label} がありません(例: C2026-001)。")
    return incident


class Command(GenchiCommand):
    help = "事故報告: 相手方の Genchi へ送るパッケージの作成 (send) と取り込み (import)"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        send = sub.add_parser(
            "send", help="この Genchi で記録した事故報告を、署名・暗号化したパッケージにする"
        )
        send.add_argument("label", help="事故報告の番号(契約コード-番号、例: C2026-001)")
        send.add_argument("--out", default=".", help="パッケージと報告書 PDF の書き出し先フォルダ")
        received = sub.add_parser("import", help="相手方から届いた事故報告のパッケージを取り込む")
        received.add_argument("file", help="事故報告のパッケージ (.genchi.age)")
        received.add_argument(
            "--side",
            choices=["ward", "contractor"],
            default="ward",
            help="取り込む側(区: ward、受託事業者: contractor)",
        )
        received.add_argument("--giver", default="", help="パッケージを渡した人の氏名")

    def run(self, *args, **options) -> None:
        if options["action"] == "send":
            self._send(options["label"], Path(options["out"]))
        else:
            self._import(options["file"], options["side"], options["giver"])

    def _send(self, label: str, out: Path) -> None:
        incident = _incident(label)
        try:
            result = send_incident(incident, out, by=None)
        except transfer.Refusal as exc:
            raise CommandError(transfer.refusal_message(exc)) from None
        pdf = out / f"incident-{incident.label}.pdf"
        pdf.write_bytes(first_report_pdf(incident))
        self.stdout.write(f"事故報告 {incident.label} のパッケージ: {result.path.name}")
        self.stdout.write(f"事故報告書(第一報): {pdf.name}")

    def _import(self, file: str, side: str, giver: str) -> None:
        try:
            result = transfer.receive_package(
                file,
                kind="incident",
                side=side,
                giver_name=giver,
                max_scrypt_work_factor=transfer.COMMAND_MAX_SCRYPT_WORK_FACTOR,
            )
        except transfer.Refusal as exc:
            raise CommandError(transfer.refusal_message(exc)) from None
        package = result.package
        latest = Incident.objects.filter(
            contract=package.contract, received_at__isnull=False
        ).order_by("-received_at", "-pk")
        self.stdout.write(f"事故報告のパッケージ {package.short_id} を取り込みました。")
        for row in latest[:1]:
            self.stdout.write(
                f"{row.label} ({row.origin_label}) {row.get_state_display()} 第{row.received_version}版"
            )
