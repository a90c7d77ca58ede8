"""`genchi dumpdata`: Django's, refusing tables of personal data unless asked for them
explicitly with `--include-personal-data`, which is written to the audit log (who, when,
which tables, where to) before anything is printed."""

from __future__ import annotations

from django.apps import apps
from django.core.management.commands import dumpdata

from genchi.audit.chain import record
from genchi.compliance.personal_data import holds_personal_data
from genchi.core.commands import CommandError, GenchiCommand


def _models_named(labels: list[str], excluded: list[str]) -> list:
    """The models `dumpdata` would write for these labels and exclusions."""
    if labels:
        chosen = []
        for label in labels:
            app_label, _dot, model_name = label.partition(".")
            try:
                config = apps.get_app_config(app_label)
            except LookupError:
                continue  # dumpdata itself says the label is unknown
            if model_name:
                model = config.models.get(model_name.lower())
                chosen += [model] if model is not None else []
            else:
                chosen += list(config.get_models())
    else:
        chosen = list(apps.get_models())
    skip = {e.lower() for e in excluded}
    return [
        m
        for m in chosen
        if m._meta.app_label.lower() not in skip and m._meta.label_lower not in skip
    ]


class Command(GenchiCommand, dumpdata.Command):
    help = (
        dumpdata.Command.help
        + " 個人情報を含むテーブルは --include-personal-data を指定したときだけ出力し、"
        "監査ログに記録します。"
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--include-personal-data",
            action="store_true",
            help="個人情報を含むテーブルも出力する(誰が・いつ・何を出力したかを監査ログに記録)",
        )

    def run(self, *app_labels, include_personal_data=False, **options):
        personal = sorted(
            m._meta.label
            for m in _models_named(list(app_labels), options.get("exclude") or [])
            if holds_personal_data(m)
        )
        if personal and not include_personal_data:
            raise CommandError(
                "個人情報を含むテーブルは出力しません: "
                + ", ".join(personal)
                + "。除くには -e で指定してください。どうしても必要な場合は "
                "--include-personal-data を付けてください(監査ログに記録されます)。"
            )
        if personal:
            record(
                "data.dumped_personal",
                detail={
                    "models": personal,
                    "output": options.get("output") or "(標準出力)",
                    "format": options.get("format") or "json",
                },
            )
        return dumpdata.Command.handle(self, *app_labels, **options)
