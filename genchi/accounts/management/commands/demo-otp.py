import time

from django.conf import settings
from django_otp.oath import TOTP

from genchi.accounts.models import User
from genchi.accounts.services import confirmed_device
from genchi.core.commands import CommandError, GenchiCommand


class Command(GenchiCommand):
    help = "デモ用: 利用者の現在の確認コード(TOTP)を表示します。本番設定では使えません。"

    def add_arguments(self, parser):
        parser.add_argument("username")

    def run(self, *args, username, **options):
        if settings.PRODUCTION:
            raise CommandError("本番設定では確認コードを表示できません。")
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"利用者 {username} は登録されていません。")
        device = confirmed_device(user)
        if device is None:
            raise CommandError(f"{username} は二要素認証を登録していません。")
        # A code works once: if this step's code was used, give the next step's, which the
        # tolerance accepts; wait for the clock when even that one was used.
        clock = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        while device.last_t + 1 > clock.t() + device.tolerance:
            time.sleep(1)
            clock = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        step = max(clock.t(), device.last_t + 1)
        clock.time = device.t0 + (step - device.drift) * device.step  # t() adds the drift
        remaining = device.t0 + (step - device.drift + 1) * device.step - time.time()
        self.stdout.write(f"{clock.token():0{device.digits}d}")
        self.stderr.write(f"(あと {int(remaining)} 秒有効)")
