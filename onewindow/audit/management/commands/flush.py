"""``flush`` that respects the audit trail.

Outside test runs this is Django's ``flush``, and the audit table's triggers refuse it: audit records
younger than the retention period are not deleted by any path. While the test suite runs (see
``protection.test_run``) the triggers are suspended around the flush, because Django's transactional test
cases empty every table after each test.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlushCommand

from onewindow.audit.protection import protection_suspended, test_run


class Command(DjangoFlushCommand):
    def handle(self, **options: Any) -> None:
        if not test_run():
            super().handle(**options)
            return
        with protection_suspended(options["database"]):
            super().handle(**options)
