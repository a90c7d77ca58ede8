"""受け渡し票 as an A4 PDF: Japanese, embedded fonts, 和暦 dates, seal boxes, QR code (W-O3, C-O8).

The slip carries no personal data: counts, hashes, codes and the names of the staff who
handed over. Its QR code holds `GENCHI-SLIP:<package id>:<digest>`, which the receiving
side scans (or types) to confirm it holds the same package.
"""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.platypus import KeepTogether, Spacer, Table

from genchi.core import pdf
from genchi.core.documents import in_japanese
from genchi.core.pdf import mm, para
from genchi.core.wareki import format_date, format_datetime

from .models import HandoverSlip, Package

CHECKS = (
    "受け渡し日時",
    "取扱者(渡した者・受け取った者)",
    "内容",
    "件数",
    "パッケージIDとダイジェスト",
)


def _split_hash(text: str) -> str:
    return f"{text[:32]}\n{text[32:]}"


@in_japanese
def slip_pdf(slip: HandoverSlip) -> bytes:
    """The printable slip."""
    st = pdf.styles()
    package = slip.package
    contract = slip.contract
    width = 180 * mm
    story: list = []

    head = Table(
        [
            [
                # Each side's slip is headed with its own name: the contractor's copy
                # is the contractor's record, not the ward's.
                para(f"{slip.holder.name}", st["small"]),
                para(
                    f"票番号 {slip.number}\n発行日 {format_date(slip.issued_at)}",
                    pdf.styles()["right"],
                ),
            ]
        ],
        colWidths=[width / 2, width / 2],
    )
    head.setStyle(pdf.grid_style(("GRID", (0, 0), (-1, -1), 0, colors.white)))
    story += [head, Spacer(1, 3 * mm), para("受け渡し票", st["title"])]
    story.append(
        para(
            "(個人情報を含む電子データの受け渡し記録 — 区 ⇄ 受託者)",
            pdf.styles()["small"].clone("c", alignment=1),
        )
    )
    story.append(Spacer(1, 3 * mm))

    encryption = "パスワード方式(scrypt)" if package.passphrase_protected else "公開鍵方式(X25519)"
    rows = [
        ("契約", f"{contract.title}(契約コード {contract.code})"),
        ("受け渡し日時", handed_at_text(slip)),
        ("方向", slip.get_direction_display()),
        ("渡した者", f"{slip.giver_org}\n担当: {slip.giver_name or '                    (自署)'}"),
        (
            "受け取った者",
            f"{slip.receiver_org}\n担当: {slip.receiver_name or '                    (自署)'}",
        ),
        ("内容", slip.content),
        ("件数", f"{slip.record_count:,} 件"),
        ("パッケージID", str(slip.package_uuid)),
        ("ダイジェスト", _split_hash(slip.digest) + "\n(署名済みマニフェストの SHA-256)"),
        ("ファイル名", package.filename),
        ("ファイルの\nSHA-256", _split_hash(package.file_sha256) if package.file_sha256 else "—"),
        ("USBメモリ", stick_line(slip)),
        ("暗号化", f"{encryption}・署名 Ed25519"),
        ("署名鍵", package.signing_fingerprint),
        (
            "監査ログ",
            f"第 {slip.log_count:,} 件時点の先頭ハッシュ\n{_split_hash(slip.log_head)}",
        ),
        ("状態", _state_text(slip)),
    ]
    mono_rows = {
        "パッケージID",
        "ダイジェスト",
        "ファイルの\nSHA-256",
        "署名鍵",
        "ファイル名",
        "監査ログ",
    }
    data = [
        [
            para(label, st["cell"]),
            para(value, st["mono"] if label in mono_rows else st["cell"]),
        ]
        for label, value in rows
    ]
    table = Table(data, colWidths=[32 * mm, width - 32 * mm])
    table.setStyle(pdf.grid_style(pdf.label_column_style(len(data))))
    story.append(table)
    story.append(Spacer(1, 3 * mm))

    checks = "\n".join(f"□ {c}" for c in CHECKS)
    confirm = Table(
        [
            [
                pdf.QrCode(slip.qr_text, size=34 * mm),
                para(
                    "受け取り側の確認\n"
                    "このQRコードを読み取るか、パッケージIDとダイジェストを入力して、"
                    "Genchi に記録された内容と一致することを確かめてください。\n\n" + checks,
                    st["small"],
                ),
            ]
        ],
        colWidths=[40 * mm, width - 40 * mm],
    )
    confirm.setStyle(
        pdf.grid_style(("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (0, 0), "CENTER"))
    )
    story.append(confirm)
    story.append(Spacer(1, 3 * mm))

    seals = pdf.seal_boxes(["渡した者", "受け取った者", "区 確認者", "受託者 確認者"], box_mm=28)
    seals.hAlign = "RIGHT"
    story.append(KeepTogether([para("押印欄", st["heading"]), Spacer(1, 2 * mm), seals]))
    story.append(Spacer(1, 4 * mm))
    story.append(
        para(
            "この票は区と受託者がそれぞれ保管します。USBメモリは受け渡しの後、"
            "データを消去して初期化し、USBメモリ管理台帳に記録してください。",
            st["tiny"],
        )
    )

    def footer(_canvas, _page: int) -> str:
        return f"Genchi 受け渡し票 {slip.number} / パッケージ {str(slip.package_uuid)[:8]}"

    return pdf.build_document(story, title=f"受け渡し票 {slip.number}", footer=footer)


def handed_at_text(slip: HandoverSlip) -> str:
    """The time the stick changed hands; before it is recorded, a blank to write it in."""
    if slip.handed_at is None:
        return "　　　　年　　月　　日　　時　　分(手渡しの時に記入し、Genchi にも記録)"
    return format_datetime(slip.handed_at)


def stick_line(slip: HandoverSlip) -> str:
    """The stick and how the package reached it, in the words of the ledger's line (never
    a path): downloaded to be saved onto it, or written with it plugged into this PC."""
    if not slip.stick_label:
        return "—"
    delivery = slip.package.delivery
    if delivery == Package.Delivery.DOWNLOAD:
        return f"{slip.stick_label}(ダウンロードしたファイルを保存)"
    if delivery == Package.Delivery.FOLDER and slip.package.stick_id:
        return f"{slip.stick_label}(この機器に接続して書き込み)"
    return slip.stick_label


def _state_text(slip: HandoverSlip) -> str:
    lines = [f"{slip.get_state_display()}", f"発行 {format_datetime(slip.issued_at)}"]
    if slip.received_at:
        lines.append(f"受領 {format_datetime(slip.received_at)}")
    if slip.confirmed_at:
        who = f"({slip.confirmed_by})" if slip.confirmed_by else ""
        lines.append(f"確認 {format_datetime(slip.confirmed_at)}{who}")
    return "\n".join(lines)
