"""The keyed queue (docs/pubsub.md "Per-key ordering"): a head flag per pending delivery, one pending-key
row per (subscription, key) with a backlog, and the NATS stream positions.

Existing pending deliveries get their heads (the first of each key in fan-out order) and pending-key rows.
"""

import django.db.models.deletion
from django.db import migrations, models

CHUNK = 1000


def heads_create(apps, schema_editor):
    delivery = apps.get_model("pubsub", "Delivery")
    pending_key = apps.get_model("pubsub", "PendingKey")
    firsts = (
        delivery.objects.filter(status="pending")
        .values_list("subscription_id", "key")
        .order_by()
        .annotate(first=models.Min("id"))
    )
    rows = list(firsts)
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        delivery.objects.filter(pk__in=[first for _, _, first in chunk]).update(is_head=True)
        pending_key.objects.bulk_create(
            [pending_key(subscription_id=subscription, key=key) for subscription, key, _ in chunk],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0001_initial"),
        ("pubsub", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="PendingKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=128)),
                (
                    "subscription",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="pubsub.subscription",
                    ),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="pendingkey",
            constraint=models.UniqueConstraint(
                fields=("subscription", "key"), name="pubsub_pendingkey_unique"
            ),
        ),
        migrations.CreateModel(
            name="StreamPosition",
            fields=[
                ("stream", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("sequence", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RemoveIndex(model_name="delivery", name="pubsub_delivery_pending_idx"),
        migrations.RemoveIndex(model_name="delivery", name="pubsub_delivery_due_idx"),
        migrations.AddField(model_name="delivery", name="is_head", field=models.BooleanField(default=False)),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("is_head", True), ("status", "pending")),
                fields=["subscription", "next_attempt_at", "id"],
                name="pubsub_delivery_head_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["subscription", "key", "id"],
                name="pubsub_delivery_key_queue_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("leased_until__isnull", False), ("status", "pending")),
                fields=["leased_until"],
                name="pubsub_delivery_leased_idx",
            ),
        ),
        migrations.RunPython(heads_create, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_head", True), ("status", "pending")),
                fields=("subscription", "key"),
                name="pubsub_delivery_one_head",
            ),
        ),
    ]
