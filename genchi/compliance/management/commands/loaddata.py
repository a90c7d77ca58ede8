"""`genchi loaddata`: Django's, refusing fixtures that write tables of personal data.

Such rows would arrive past the services that encrypt, check and log them: cases come
in through the import, packages through their handlers. Other tables load as before."""

from __future__ import annotations

from django.core.management.commands import loaddata

from genchi.compliance.personal_data import holds_personal_data
from genchi.core.commands import CommandError, GenchiCommand


class Command(GenchiCommand, loaddata.Command):
    help = loaddata.Command.help + " 個人情報を含むテーブルへの読み込みはしません。"

    def run(self, *fixture_labels, **options):
        return loaddata.Command.handle(self, *fixture_labels, **options)

    def save_obj(self, obj):
        if holds_personal_data(type(obj.object)):
            raise CommandError(
                f"個人情報を含むテーブル {obj.object._meta.label} には読み込みません。"
                "案件は取込(genchi cases import / 画面)、受け渡しはパッケージで登録してください。"
            )
        return super().save_obj(obj)
