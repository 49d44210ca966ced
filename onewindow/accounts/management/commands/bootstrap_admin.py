"""Create the first system administrator of a new installation (`onewindow manage bootstrap_admin`)."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from onewindow.accounts.actions import user_create
from onewindow.accounts.models import Membership
from onewindow.accounts.roles import Kind, Role
from onewindow.organisations.actions import membership_grant


class Command(BaseCommand):
    help = (
        "Create the first system administrator (staff account; TOTP enrolment at first sign-in). "
        "Refused once any system administrator exists. "
        "The password comes from ONEWINDOW_BOOTSTRAP_PASSWORD or a prompt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--display-name", default="", help="name shown in the interface")

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        if Membership.objects.filter(role=Role.SYSTEM_ADMIN).exists():
            message = (
                "已存在系统管理员，请由其在系统中创建账户。 / A system administrator exists already; "
                "further accounts are created by them."
            )
            raise CommandError(message)
        password = os.environ.get("ONEWINDOW_BOOTSTRAP_PASSWORD") or getpass.getpass("Password / 密码: ")
        try:
            with transaction.atomic():
                user = user_create(
                    username=username,
                    kind=Kind.STAFF,
                    password=password,
                    display_name=options["display_name"] or username,
                    acting_user=None,
                )
                membership_grant(user=user, role=Role.SYSTEM_ADMIN, acting_user=None)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(f"created system administrator {username}; enrol a TOTP device at first sign-in")
