"""`genchi batch list [--contract CODE] [--json]`, plus `create` and `seal` for scripts."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError

from genchi.core.commands import CommandError, GenchiCommand
from genchi.intake import services
from genchi.intake.models import Batch
from genchi.intake.selectors import batch_summaries, filter_cases
from genchi.intake.services import PRIORITIES, eligible_cases

from .cases import pick_contract


class Command(GenchiCommand):
    help = "委託バッチの一覧・作成・封緘"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        lst = sub.add_parser("list", help="バッチの一覧")
        lst.add_argument("--contract")
        lst.add_argument("--json", action="store_true")
        create = sub.add_parser("create", help="優先順位に従って案件を選び、バッチを作る")
        create.add_argument("--contract")
        create.add_argument("--title", default="")
        create.add_argument("--priority", choices=list(PRIORITIES), default="amount_desc")
        create.add_argument("--limit", type=int, default=None, help="件数(既定: 契約の上限)")
        create.add_argument("--pref", default="")
        create.add_argument("--city", default="")
        create.add_argument("--min-level", type=int, default=3, choices=[0, 1, 2, 3])
        create.add_argument("--seal", action="store_true", help="作成後すぐに封緘する")
        create.add_argument("--json", action="store_true")
        seal = sub.add_parser("seal", help="作成中のバッチを封緘する")
        seal.add_argument("number", type=int)
        seal.add_argument("--contract")

    def run(self, *args, action: str, **options):
        return getattr(self, f"_{action}")(**options)

    def _list(self, *, contract, json: bool, **_):
        qs = Batch.objects.all()
        if contract:
            qs = qs.filter(contract=pick_contract(contract))
        rows = batch_summaries(qs)
        if json:
            self.stdout.write(_dumps(rows))
            return
        if not rows:
            self.stdout.write("バッチはありません。")
        for r in rows:
            self.stdout.write(
                f"{r['label']}\t{r['status']}\t{r['cases']}/{r['max_cases']} 件\t{r['title']}"
            )

    def _create(
        self, *, contract, title, priority, limit, pref, city, min_level, seal, json: bool, **_
    ):
        target = pick_contract(contract)
        cases = filter_cases(eligible_cases(target), pref=pref, city=city).filter(
            geocode_level__gte=min_level
        )
        try:
            batch = services.create_batch(target, title=title, priority=priority)
            added = services.add_cases(batch, cases, limit=limit)
            if seal:
                batch = services.seal_batch(batch)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages), returncode=1) from exc
        if json:
            self.stdout.write(_dumps(batch_summaries(Batch.objects.filter(pk=batch.pk))[0]))
        else:
            self.stdout.write(f"{batch}: {added} 件({batch.get_status_display()})")

    def _seal(self, *, number, contract, **_):
        target = pick_contract(contract)
        batch = Batch.objects.filter(contract=target, number=number).first()
        if batch is None:
            raise CommandError(f"バッチ {number} がありません。", returncode=2)
        try:
            services.seal_batch(batch)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages), returncode=1) from exc
        self.stdout.write(f"{batch} を封緘しました。")


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
