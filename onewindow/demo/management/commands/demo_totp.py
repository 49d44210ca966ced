"""``manage.py demo_totp USERNAME``: print the current TOTP code of a demo staff account.

Only demo accounts (``is_demo``), and never in production: it is a convenience for trying the platform
without an authenticator app, not a way around two-factor authentication.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from onewindow.accounts.models import User


def current_code(device: TOTPDevice) -> str:
    """The code the device accepts now (RFC 6238), zero-padded to the device's number of digits."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo staff account (demo and development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            message = "demo_totp is not available in production. / 生产环境不提供此命令。"
            raise CommandError(message)
        username: str = options["username"]
        user = User.objects.filter(username=username, is_demo=True).first()
        if user is None:
            message = f"No demo account named {username!r}. / 没有名为 {username} 的演示账户。"
            raise CommandError(message)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
        if device is None:
            message = f"{username} has no TOTP device (residents need none). / 该账户没有动态口令设备。"
            raise CommandError(message)
        seconds_left = (
            device.step - int(TOTP(device.bin_key, device.step, device.t0).time - device.t0) % device.step
        )
        self.stdout.write(current_code(device))
        self.stderr.write(f"valid for about {seconds_left} more seconds / 约 {seconds_left} 秒内有效")
