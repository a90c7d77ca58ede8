"""The erasure certificate (消去証明書, S12, C-O7): its content, one JSON object that is
both the signed package's record (`genchi/certificate/v1`) and what the PDF prints, on
either side (the contractor's from its erasure, the ward's from the package it verified).

No personal data: counts, key ids, package ids, staff names, the log's head hash.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from reportlab.platypus import KeepTogether, Spacer, Table

from genchi.core import pdf
from genchi.core.documents import in_japanese
from genchi.core.pdf import mm, para
from genchi.core.wareki import fiscal_year_label, format_datetime

SCHEMA = "genchi/certificate/v1"

# What the counts name, in the certificate's words (keys set by each app's erasure step).
COUNT_LABELS = {
    "cases": "調査案件(氏名・住所等)",
    "visits": "訪問記録",
    "photos": "写真",
    "reports": "報告書(PDF・XLSX)",
    "plans": "調査計画(版)",
    "area_proposals": "地区割り案",
    "bases": "調査員の拠点",
    "tablets_revoked": "失効させたタブレット",
    "package_files": "サーバーに残っていたパッケージファイル",
    "job_folders": "処理中ファイルのフォルダ",
}


def certificate_record(
    erasure: Any,
    contract: Any,
    *,
    engine: str,
    compaction: str,
    master: tuple[str, str],
    tablets: list[dict],
    received: list[dict],
    returned: list[dict],
    erased_by: str,
    method: str,
    log: tuple[int, str],
) -> dict[str, Any]:
    """The certificate of a finished erasure (see the module)."""
    fixed = erasure.certificate  # counts and keys, set in the erasure's transaction
    return {
        "schema": SCHEMA,
        "certificate_id": str(erasure.certificate_id),
        "contract": contract.code,
        "contract_title": contract.title,
        "fiscal_year": contract.fiscal_year,
        "ward": {"code": contract.ward.code, "name": contract.ward.name},
        "contractor": {"code": contract.contractor.code, "name": contract.contractor.name},
        "started_at": erasure.started_at.isoformat(),
        "erased_at": erasure.erased_at.isoformat(),
        "certified_at": erasure.certified_at.isoformat(),
        "erased_by": erased_by,
        "witnesses": [
            {
                "name": erasure.witness_name,
                "organisation": erasure.witness_org,
                "how": erasure.witnessing,
                "at": erasure.witnessed_at.isoformat(),
            }
        ],
        "method": method,
        "database": engine,
        "compaction": compaction,
        "counts": fixed["counts"],
        "destroyed_keys": fixed["destroyed_keys"],
        "recipient_key": fixed["recipient_key"],
        "master_key": {"retired": master[0], "new": master[1]},
        "tablets": [
            {
                "device": t["device"],
                "label": t["label"],
                "surveyor": t["surveyor"],
                "wiped_at": t["wiped_at"],
            }
            for t in tablets
        ],
        "packages_received": received,
        "results_returned": returned,
        "log_count": log[0],
        "log_head": log[1],
    }


WITNESSING_WORDS = {
    "sign_in": "区の職員が受託者の Genchi にサインインして確認",
    "code": "区の Genchi が示したワンタイムコードで確認",
    "named": "運用者がコマンドラインで氏名を記録",
}


def _at(text: str) -> str:
    return format_datetime(dt.datetime.fromisoformat(text)) if text else "—"


def ordered_counts(counts: dict[str, int]) -> list[tuple[str, int]]:
    """The counts in the certificate's order (cases first), labelled; unknown kinds last."""
    known = [(COUNT_LABELS[k], counts[k]) for k in COUNT_LABELS if k in counts]
    return known + [(k, n) for k, n in counts.items() if k not in COUNT_LABELS]


def pending_tablets(data: dict) -> list[dict]:
    return [t for t in data.get("tablets", []) if not t.get("wiped_at")]


@in_japanese
def certificate_pdf(data: dict, *, verified_at: dt.datetime | None = None) -> bytes:
    """The printable certificate (A4, 和暦, seal boxes for both sides). `verified_at`:
    the ward's copy says when its Genchi verified the signed package."""
    st = pdf.styles()
    width = 180 * mm
    story: list = [
        para(f"証明書ID {data['certificate_id']}", st["right"]),
        Spacer(1, 2 * mm),
        para("消去証明書", st["title"]),
        para(
            "(個人情報を含む電子データの消去 — 受託者の電子計算機・タブレット)",
            st["small"].clone("c", alignment=1),
        ),
        Spacer(1, 3 * mm),
        para(
            f"{data['ward']['name']} 様\n\n"
            f"下記の契約について、受託者が保有する個人情報を、委託者の職員の立会いのもとで"
            f"復元できない方法により消去したことを証明します。",
            st["body"],
        ),
        Spacer(1, 3 * mm),
    ]
    witnesses = "\n".join(
        f"{w['name']}({w['organisation']})\n  {WITNESSING_WORDS.get(w['how'], w['how'])}"
        f" {_at(w['at'])}"
        for w in data["witnesses"]
    )
    tablets = data.get("tablets", [])
    pending = pending_tablets(data)
    tablet_text = (
        "なし"
        if not tablets
        else f"{len(tablets)} 台(消去済み {len(tablets) - len(pending)} 台・未接続 {len(pending)} 台)\n"
        + "\n".join(
            f"{t['label'] or t['device']}({t['surveyor']}): "
            + (f"消去指示送信 {_at(t['wiped_at'])}" if t["wiped_at"] else "次回接続時に消去")
            for t in tablets
        )
    )
    counts = "\n".join(f"{label}: {n:,}" for label, n in ordered_counts(data["counts"]))
    packages = (
        "\n".join(
            f"受領 {p['package_id']} {p['batch']} {p['records']:,} 件"
            for p in data["packages_received"]
        )
        + "\n"
        + "\n".join(f"返却 {p['package_id']} {p['records']:,} 件" for p in data["results_returned"])
    )
    rows = [
        (
            "契約",
            f"{data['contract_title']}\n(契約コード {data['contract']}・"
            f"{fiscal_year_label(data['fiscal_year'])})",
        ),
        ("委託者", data["ward"]["name"]),
        ("受託者", data["contractor"]["name"]),
        ("消去日時", f"{_at(data['erased_at'])}(開始 {_at(data['started_at'])})"),
        ("消去した者", data["erased_by"] or "—"),
        ("立会者", witnesses),
        ("消去の方法", f"{data['method']}\n{data['compaction']}"),
        ("消去した件数", counts or "—"),
        (
            "破棄した鍵",
            "\n".join(data["destroyed_keys"])
            + (f"\n受け取り鍵 {data['recipient_key']}" if data["recipient_key"] else "")
            + f"\nマスター鍵を更新 {data['master_key']['retired']} → {data['master_key']['new']}",
        ),
        ("タブレット", tablet_text),
        ("受け渡したパッケージ", packages.strip() or "—"),
        (
            "監査ログ",
            f"第 {data['log_count']:,} 件時点の先頭ハッシュ\n"
            f"{data['log_head'][:32]}\n{data['log_head'][32:]}",
        ),
    ]
    if verified_at is not None:
        rows.append(("区の検証", f"署名・内容を検証済み {format_datetime(verified_at)}"))
    mono = {"破棄した鍵", "受け渡したパッケージ", "監査ログ"}
    cells = [
        [para(label, st["cell"]), para(value, st["mono"] if label in mono else st["cell"])]
        for label, value in rows
    ]
    table = Table(cells, colWidths=[32 * mm, width - 32 * mm])
    table.setStyle(pdf.grid_style(pdf.label_column_style(len(cells))))
    story += [table, Spacer(1, 4 * mm)]
    seals = pdf.seal_boxes(["受託者 取扱責任者", "消去した者", "区 立会者", "区 確認者"], box_mm=26)
    seals.hAlign = "RIGHT"
    story.append(KeepTogether([para("押印欄", st["heading"]), Spacer(1, 2 * mm), seals]))
    story.append(Spacer(1, 3 * mm))
    story.append(
        para(
            "この証明書は署名付きのパッケージ(種類 certificate)としても区に渡します。"
            "区の Genchi が署名と内容(渡したパッケージ・受け取った結果)を検証し、契約を終了します。",
            st["tiny"],
        )
    )

    def footer(_canvas, _page: int) -> str:
        return f"Genchi 消去証明書 {data['contract']} / {data['certificate_id'][:8]}"

    return pdf.build_document(story, title=f"消去証明書 {data['contract']}", footer=footer)
