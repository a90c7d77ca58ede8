"""`genchi plan solve|areas|check|replan`: the planner on the command line, no database.

solve: reads an instance (docs/planning.md; a file, or - for standard input) and prints
the plan as JSON on standard output. areas: the area proposal alone. check: lists every
rule a plan breaks. replan: plans one surveyor's days from a given day again.
Exit status: 0 a plan (or a clean check), 1 a refused instance or plan (or a check that
found problems), 2 a usage error (including a file that does not exist).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from genchi.core.commands import CommandError, GenchiCommand
from genchi.planning import (
    InstanceError,
    Plan,
    check_plan,
    parse_instance,
    propose_areas,
    replan,
    solve,
)


def read_json(source: str, what: str) -> Any:
    """Decoded JSON from a path or `-` (standard input); CommandError in Japanese."""
    try:
        if source == "-":
            text = sys.stdin.buffer.read().decode("utf-8-sig")
        else:
            path = Path(source)
            if not path.is_file():
                raise CommandError(
                    _("ファイルがありません: %(path)s") % {"path": source}, returncode=2
                )
            text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CommandError(
            _("%(what)s を UTF-8 として読めません。") % {"what": what}, returncode=1
        ) from exc
    except OSError as exc:
        raise CommandError(
            _("入出力エラー: %(error)s") % {"error": exc.strerror or exc}, returncode=2
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(
            _("%(what)s が JSON として読めません(%(line)d 行 %(col)d 列): %(msg)s")
            % {"what": what, "line": exc.lineno, "col": exc.colno, "msg": exc.msg},
            returncode=1,
        ) from exc


def load_instance(source: str, seconds: float | None):
    data = read_json(source, _("インスタンス"))
    if seconds is not None and isinstance(data, dict):
        data = {**data, "seconds": seconds}
    try:
        return parse_instance(data)
    except InstanceError as exc:
        lines = "\n".join(str(e) for e in exc.errors[:50])
        more = len(exc.errors) - 50
        if more > 0:
            lines += "\n" + _("ほか %(n)d 件") % {"n": more}
        raise CommandError(
            _("インスタンスに誤りがあります(%(n)d 件):") % {"n": len(exc.errors)} + "\n" + lines,
            returncode=1,
        ) from exc


def load_plan(source: str) -> Plan:
    data = read_json(source, _("計画"))
    try:
        return Plan.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CommandError(
            _("計画の形式が正しくありません: %(error)s") % {"error": exc}, returncode=1
        ) from exc


class Command(GenchiCommand):
    help = _("訪問計画: インスタンス(JSON)から担当地区・出張・日ごとの訪問ルートを作ります。")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (
            ("solve", _("計画を作り、JSON で標準出力に出します")),
            ("areas", _("担当地区と出張の案だけを JSON で出します")),
            ("check", _("計画がインスタンスの条件を守っているか確かめます")),
            ("replan", _("1人の調査員の、指定日以降の計画を作り直します")),
        ):
            p = sub.add_parser(name, help=text)
            p.add_argument("instance", help=_("インスタンスの JSON ファイル(- で標準入力)"))
            if name in ("check", "replan"):
                p.add_argument("plan", help=_("計画の JSON ファイル"))
            if name == "replan":
                p.add_argument("--surveyor", required=True, help=_("調査員の ID"))
                p.add_argument("--from-day", type=int, required=True, help=_("作り直す最初の日"))
                p.add_argument(
                    "--under-way",
                    type=int,
                    help=_("調査員が出ている日(今日)。その日のルートと出張はそのまま残します"),
                )
            if name != "check":
                p.add_argument(
                    "--seconds",
                    type=float,
                    help=_("計算時間の上限(秒)。インスタンスの seconds より優先"),
                )
            p.add_argument("--pretty", action="store_true", help=_("字下げして出力します"))

    def run(self, *args, action: str, **options):
        instance = load_instance(options["instance"], options.get("seconds"))
        if action == "solve":
            out = solve(instance).to_dict()
        elif action == "areas":
            out = propose_areas(instance).to_dict(instance)
        elif action == "check":
            problems = check_plan(instance, load_plan(options["plan"]))
            self._print({"ok": not problems, "problems": problems}, options["pretty"])
            if problems:
                raise CommandError(
                    _("計画に %(n)d 件の問題があります。") % {"n": len(problems)}, returncode=1
                )
            return
        else:
            surveyor = self._surveyor(instance, options["surveyor"])
            plan = load_plan(options["plan"])
            out = replan(
                instance,
                plan,
                surveyor,
                options["from_day"],
                seconds=options.get("seconds"),
                under_way=options.get("under_way"),
            ).to_dict()
        self._print(out, options["pretty"])

    def _surveyor(self, instance, given: str):
        for sv in instance.surveyors:
            if str(sv.id) == given:
                return sv.id
        raise CommandError(
            _("調査員「%(id)s」はインスタンスにいません。") % {"id": given}, returncode=2
        )

    def _print(self, data: dict, pretty: bool) -> None:
        text = json.dumps(data, ensure_ascii=False, indent=2 if pretty else None)
        try:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            sys.stderr.close()
