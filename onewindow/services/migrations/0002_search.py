"""Search: the token documents, plus the vendor's full-text index over them (see services/search.py)."""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


class VendorRunSQL(migrations.RunSQL):
    """``RunSQL`` that runs only on one database vendor (FTS5 is SQLite's, GIN/tsvector PostgreSQL's)."""

    def __init__(self, vendor: str, sql: str, reverse_sql: str) -> None:
        super().__init__(sql, reverse_sql)
        self.vendor = vendor

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__name__, [self.vendor, self.sql, self.reverse_sql], {})

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("services", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ServiceSearchDocument",
            fields=[
                (
                    "service",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="services.service",
                    ),
                ),
                ("tokens", models.TextField()),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.AddField(
            model_name="serviceversion",
            name="form_schema_merged",
            field=models.BooleanField(default=False),
        ),
        # SQLite: an FTS5 table whose rowid is the service id; the tokens are already jieba-segmented
        # and space-joined, so unicode61 only splits on the spaces and folds case.
        VendorRunSQL(
            "sqlite",
            "CREATE VIRTUAL TABLE services_search_fts USING fts5(tokens, tokenize = 'unicode61')",
            "DROP TABLE IF EXISTS services_search_fts",
        ),
        VendorRunSQL(
            "postgresql",
            "CREATE INDEX services_search_tokens_gin ON services_servicesearchdocument "
            "USING GIN (to_tsvector('simple', tokens))",
            "DROP INDEX IF EXISTS services_search_tokens_gin",
        ),
    ]
