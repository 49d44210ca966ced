"""The default escalation ladder (handler -> department admin -> leader), as data an admin may change."""

from typing import Any

from django.db import migrations

DEFAULT_RULES = [
    # (light, overdue working days, target)
    ("yellow", 0, "assignee"),
    ("red", 0, "department_admin"),
    ("red", 3, "leader"),
]


def forwards(apps: Any, schema_editor: Any) -> None:
    rule = apps.get_model("workflow", "EscalationRule")
    for light, days, target in DEFAULT_RULES:
        rule.objects.get_or_create(
            department_code="",
            light=light,
            overdue_working_days=days,
            target=target,
            defaults={"active": True},
        )


def backwards(apps: Any, schema_editor: Any) -> None:
    rule = apps.get_model("workflow", "EscalationRule")
    for light, days, target in DEFAULT_RULES:
        rule.objects.filter(
            department_code="", light=light, overdue_working_days=days, target=target
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("workflow", "0002_back_office")]

    operations = [migrations.RunPython(forwards, backwards)]
