"""An index on (service, started_at): one service's calls over a time window (the exchange's per-service
monitoring page, docs/exchange.md "Monitoring") no longer read the other services' rows of the window.

Reversible (AddIndex / RemoveIndex). On a large PostgreSQL table the index build locks writes to the log
while it runs; to avoid that, create it by hand first with ``CREATE INDEX CONCURRENTLY
messagelog_service_started_idx ON messagelog_messagelogrecord (service, started_at)`` and then run this
migration with ``--fake`` (docs/messagelog.md).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messagelog", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="messagelogrecord",
            index=models.Index(fields=["service", "started_at"], name="messagelog_service_started_idx"),
        ),
    ]
