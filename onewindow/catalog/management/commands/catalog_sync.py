"""``manage.py catalog_sync``: bring the built-in catalog entries in line with the code (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from onewindow.catalog.sync import catalog_sync
from onewindow.core.context import RequestContext, reset_request_context, set_request_context


class Command(BaseCommand):
    help = (
        "Catalogue the population and legal-entity registries and every published service item's result "
        "data, publishing a new version where the code changed and withdrawing entries of items no longer "
        "published. Runs after every migrate as well."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        token = set_request_context(RequestContext(channel="cli"))
        try:
            report = catalog_sync()
        finally:
            reset_request_context(token)
        summary = (
            f"Catalog: {len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.withdrawn)} withdrawn"
        )
        for skipped in report.skipped:
            self.stdout.write(f"skipped {skipped}")
        self.stdout.write(self.style.SUCCESS(summary) if report.changed else summary + " (nothing changed)")
