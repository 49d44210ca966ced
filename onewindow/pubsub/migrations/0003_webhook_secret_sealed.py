"""Webhook secrets encrypted at rest (onewindow/pubsub/protection.py): the column grows to hold the sealed
form, and secrets stored in plaintext before are sealed."""

from django.db import migrations, models


def secrets_seal(apps, schema_editor):
    from onewindow.pubsub.protection import SEALED_PREFIX, secret_seal

    subscription = apps.get_model("pubsub", "Subscription")
    for pk, code, secret in subscription.objects.exclude(secret="").values_list("pk", "code", "secret"):
        if not secret.startswith(f"{SEALED_PREFIX}:"):
            subscription.objects.filter(pk=pk).update(secret=secret_seal(secret, subscription_code=code))


class Migration(migrations.Migration):
    dependencies = [
        ("pubsub", "0002_keyed_queue"),
    ]

    operations = [
        migrations.AlterField(
            model_name="subscription",
            name="secret",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.RunPython(secrets_seal, migrations.RunPython.noop),
    ]
