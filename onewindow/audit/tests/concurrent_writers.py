"""Concurrent audit writers, each thread on its own database connection (used by test_concurrency).

Run as a script (``python -m onewindow.audit.tests.concurrent_writers WRITERS APPENDS``) it migrates the
configured database's audit table, runs the writers and prints one JSON line with the outcome: the SQLite
test database is in memory with a shared cache, where concurrent writers fail with "database table is
locked" instead of waiting, so the SQLite test runs this against a file database in a child process.
"""

from __future__ import annotations

import threading

from django.db import connection, transaction


def run_writers(writers: int, appends: int) -> list[str]:
    """Start ``writers`` threads at once, each appending ``appends`` records; return their errors."""
    from onewindow.audit.actions import audit_append

    barrier = threading.Barrier(writers)
    errors: list[str] = []

    def write(writer: int) -> None:
        try:
            barrier.wait()
            for n in range(appends):
                with transaction.atomic():
                    audit_append(
                        action="test.concurrent", acting_user=None, details={"writer": writer, "n": n}
                    )
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _main() -> None:
    import json
    import sys

    import django

    django.setup()
    from django.core.management import call_command

    from onewindow.audit.models import AuditRecord
    from onewindow.audit.verify import verify_chain

    call_command("migrate", "audit", verbosity=0)
    errors = run_writers(int(sys.argv[1]), int(sys.argv[2]))
    result = verify_chain()
    seqs = list(AuditRecord.objects.order_by("seq").values_list("seq", flat=True))
    prev_hashes = set(AuditRecord.objects.values_list("prev_hash", flat=True))
    sys.stdout.write(
        json.dumps(
            {
                "vendor": connection.vendor,
                "errors": errors,
                "intact": result.intact,
                "checked": result.checked,
                "problem": result.problem_en,
                "seqs": seqs,
                "distinct_prev_hashes": len(prev_hashes),
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    _main()
