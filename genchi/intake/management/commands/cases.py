"""`genchi cases import FILE [--contract CODE] [--dry-run] [--json]` and `genchi cases list`.

Exit status: 0 when stored (or, with --dry-run, when it would be), 1 when refused,
2 for usage errors (no such file, unknown or ambiguous contract, bad option).
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

from genchi.core.commands import CommandError, GenchiCommand
from genchi.intake.columns import FIELDS, IGNORE, normalise_header
from genchi.intake.models import Case, MappingPreset
from genchi.intake.reader import MAX_FILE_BYTES
from genchi.intake.services import ImportOptions, import_file, summary_message
from genchi.parties.models import Contract

# More rows than any file under the size limit can hold.
MAX_EXCLUDED_ROWS = 2_000_000


def parse_rows(text: str) -> frozenset[int]:
    """ "3,7-9" → {3, 7, 8, 9}."""
    rows: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "-" in part:
            start, _, end = part.partition("-")
            if not (start.isdigit() and end.isdigit()) or int(end) < int(start):
                raise ValueError(part)
            if int(end) - int(start) >= MAX_EXCLUDED_ROWS:
                raise ValueError(part)
            rows.update(range(int(start), int(end) + 1))
        elif part.isdigit():
            rows.add(int(part))
        else:
            raise ValueError(part)
    return frozenset(rows)


def pick_contract(code: str | None) -> Contract:
    if code:
        contract = Contract.objects.select_related("ward").filter(code=code).first()
        if contract is None:
            raise CommandError(f"契約 {code} がありません。", returncode=2)
        return contract
    active = list(Contract.objects.select_related("ward").filter(status=Contract.Status.ACTIVE)[:2])
    if len(active) != 1:
        raise CommandError(
            "履行中の契約が 1 件ではありません。--contract で契約コードを指定してください。",
            returncode=2,
        )
    return active[0]


class Command(GenchiCommand):
    help = "調査対象者の一覧(CSV・Excel)を取り込みます。"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="一覧ファイルを検査して取り込む(全件か、0 件か)")
        imp.add_argument("file", help="CSV(UTF-8 / CP932)または XLSX")
        imp.add_argument("--contract", help="契約コード(履行中の契約が 1 件なら省略可)")
        imp.add_argument("--dry-run", action="store_true", help="検査だけして登録しない")
        imp.add_argument("--json", action="store_true", help="結果を JSON で出力する")
        imp.add_argument(
            "--encoding", choices=["utf-8", "cp932"], default="", help="文字コードを指定する"
        )
        imp.add_argument("--sheet", default="", help="Excel のシート名(既定: 最初のシート)")
        imp.add_argument("--preset", default="", help="保存した列の対応の名称")
        imp.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="見出し=項目",
            help=f"列の対応を指定(項目: {', '.join([*FIELDS, IGNORE])})",
        )
        imp.add_argument(
            "--exclude-rows", default="", help="除外する行番号(例: 3,7-9)。見出しが 1 行目"
        )
        gen = sub.add_parser(
            "generate", help="架空の滞納者一覧(CP932 の CSV と XLSX)を作る(デモ・試験用)"
        )
        gen.add_argument("count", type=int, help="人数")
        gen.add_argument("--out", default=".", help="書き出すフォルダ")
        gen.add_argument(
            "--seed",
            type=int,
            default=None,
            help="乱数の種(同じ種なら同じ一覧)。省略すると新しい種を選んで表示します",
        )
        lst = sub.add_parser("list", help="案件の件数を状態・都道府県ごとに表示する")
        lst.add_argument("--contract")
        lst.add_argument("--json", action="store_true")

    def run(self, *args, action: str, **options):
        if action == "import":
            return self._import(**options)
        if action == "generate":
            return self._generate(**options)
        return self._list(**options)

    def _generate(self, *, count: int, out: str, seed: int, **_):
        from genchi.intake.demo_data import DEMO_SEED, write_files

        if not 1 <= count <= 1_000_000:
            raise CommandError("人数は 1 から 1,000,000 までで指定してください。", returncode=2)
        if seed is None:
            # A fresh list each time: the demo's own seed would give its people again,
            # all duplicates of what the demo imported.
            seed = secrets.randbelow(1_000_000) + 1
            while seed == DEMO_SEED:
                seed = secrets.randbelow(1_000_000) + 1
        csv_path, xlsx_path = write_files(count, Path(out), seed=seed)
        self.stdout.write(f"架空の滞納者 {count:,} 人を書き出しました: {csv_path} / {xlsx_path}")
        self.stdout.write(f"乱数の種: {seed}(同じ一覧をもう一度作るには --seed {seed})")

    def _mapping(self, contract: Contract, preset: str, pairs: list[str]) -> dict[str, str] | None:
        mapping: dict[str, str] = {}
        if preset:
            found = MappingPreset.objects.filter(organisation=contract.ward, name=preset).first()
            if found is None:
                raise CommandError(f"列の対応「{preset}」がありません。", returncode=2)
            mapping.update(found.mapping)
        for pair in pairs:
            header, sep, target = pair.partition("=")
            if not sep or (target not in FIELDS and target != IGNORE):
                raise CommandError(f"--map の指定が正しくありません: {pair}", returncode=2)
            mapping[normalise_header(header)] = target
        return mapping or None

    def _import(
        self,
        *,
        file,
        contract,
        dry_run,
        json: bool,
        encoding,
        sheet,
        preset,
        map,
        exclude_rows,
        **_,
    ):  # noqa: A002 - option names
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"ファイルがありません: {file}", returncode=2)
        try:
            excluded = parse_rows(exclude_rows)
        except ValueError as exc:
            raise CommandError(
                f"--exclude-rows の指定が正しくありません: {exc}", returncode=2
            ) from exc
        target = pick_contract(contract)
        options = ImportOptions(
            encoding=encoding,
            sheet=sheet,
            mapping=self._mapping(target, preset, map),
            exclude_rows=excluded,
        )
        # One byte past the limit is enough for the reader to refuse the file with its
        # reason; a huge file is never read whole into memory.
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
        progress = None
        if not json and sys.stderr.isatty():

            def progress(done: int, total: int) -> None:
                percent = min(100, int(done * 100 / max(total, 1)))
                sys.stderr.write(f"\r検査・登録中: {done:,} / 約 {total:,} 行 ({percent}%)")
                sys.stderr.flush()
                if done >= total:
                    sys.stderr.write("\n")

        run, report = import_file(
            target, data, filename=path.name, options=options, dry_run=dry_run, progress=progress
        )
        ok = report.stored or (dry_run and not report.message)
        if json:
            payload = report.to_json()
            payload.update({"contract": target.code, "dry_run": dry_run, "run": run.pk})
            if dry_run and not report.message:
                payload["status"] = "checked"
            self.stdout.write(_dumps(payload))
        else:
            self._print_human(report, dry_run)
        if not ok:
            raise CommandError(summary_message(report), returncode=1)

    def _print_human(self, report, dry_run: bool) -> None:
        w = self.stdout.write
        w(f"形式: {report.file_format or '-'} {report.encoding}".rstrip())
        w(
            f"行数 {report.total_rows} / 正常 {report.good_rows} / 警告 {report.warning_rows} / "
            f"エラー {report.error_rows} / 重複 {report.duplicate_rows} / 除外 {report.excluded_rows}"
        )
        for issue in report.errors[:200]:
            column = f" [{issue.column}]" if issue.column else ""
            w(f"  エラー {issue.row} 行目{column}: {issue.message}")
        if len(report.errors) > 200:
            w(f"  …ほか {len(report.errors) - 200} 件")
        for issue in report.warnings[:50]:
            column = f" [{issue.column}]" if issue.column else ""
            w(f"  警告 {issue.row} 行目{column}: {issue.message}")
        if report.stored:
            w(summary_message(report))
        elif dry_run and not report.message:
            w(f"検査のみ(--dry-run): {report.good_rows + report.warning_rows} 件を登録できます。")

    def _list(self, *, contract, json: bool, **_):
        from django.db.models import Count

        qs = Case.objects.all()
        if contract:
            qs = qs.filter(contract=pick_contract(contract))
        rows = list(
            qs.values("contract__code", "status", "pref")
            .annotate(n=Count("id"))
            .order_by("contract__code", "status", "pref")
        )
        if json:
            self.stdout.write(
                _dumps(
                    [
                        {
                            "contract": r["contract__code"],
                            "status": r["status"],
                            "pref": r["pref"],
                            "cases": r["n"],
                        }
                        for r in rows
                    ]
                )
            )
            return
        for r in rows:
            self.stdout.write(f"{r['contract__code']}\t{r['status']}\t{r['pref']}\t{r['n']}")


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
