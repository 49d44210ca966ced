"""Mark licences whose validity has ended as expired (the scheduler runs this hourly; cron works too)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from onewindow.licences.actions import licences_expire


class Command(BaseCommand):
    help = "Mark valid licences whose last valid day (Beijing) has passed as expired; prints how many."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", type=dt.date.fromisoformat, help="The Beijing date to expire against")

    def handle(self, *args: Any, **options: Any) -> None:
        count = licences_expire(today=options.get("today"))
        self.stdout.write(f"{count} licence(s) marked expired")
