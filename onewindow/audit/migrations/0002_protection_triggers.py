"""Database-level protection of the audit trail (MLPS 2.0 / GB/T 22239-2019 §8.1.4.3 c).

UPDATE is always refused; DELETE is refused for records younger than 180 days (the statutory floor of the
retention period, a constant here: the application's ``AUDIT_RETENTION_DAYS`` may be longer, never shorter);
TRUNCATE is refused on PostgreSQL (SQLite has no TRUNCATE: ``DELETE FROM`` fires the row trigger).

The SQL is written out here rather than imported so that this migration keeps doing what it did when it was
applied, whatever later code says. See docs/audit.md.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

POSTGRESQL_INSTALL = [
    r"""
    CREATE OR REPLACE FUNCTION audit_auditrecord_protect() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION 'audit records are append-only: UPDATE of record #% refused / 审计记录只能追加，不得修改（记录 #%）', OLD.seq, OLD.seq
                USING ERRCODE = 'insufficient_privilege';
        ELSIF TG_OP = 'DELETE' THEN
            IF OLD.recorded_at > now() - interval '180 days' THEN
                RAISE EXCEPTION 'audit record #% is within the 180-day retention period: DELETE refused / 审计记录 #% 未满180天保存期，不得删除', OLD.seq, OLD.seq
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN OLD;
        ELSIF TG_OP = 'TRUNCATE' THEN
            RAISE EXCEPTION 'audit records cannot be truncated / 审计记录不得清空'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NULL;
    END;
    $$;
    """,
    """
    CREATE TRIGGER audit_auditrecord_no_update BEFORE UPDATE ON audit_auditrecord
    FOR EACH ROW EXECUTE FUNCTION audit_auditrecord_protect();
    """,
    """
    CREATE TRIGGER audit_auditrecord_no_delete BEFORE DELETE ON audit_auditrecord
    FOR EACH ROW EXECUTE FUNCTION audit_auditrecord_protect();
    """,
    """
    CREATE TRIGGER audit_auditrecord_no_truncate BEFORE TRUNCATE ON audit_auditrecord
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditrecord_protect();
    """,
]
POSTGRESQL_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_auditrecord_no_truncate ON audit_auditrecord;",
    "DROP TRIGGER IF EXISTS audit_auditrecord_no_delete ON audit_auditrecord;",
    "DROP TRIGGER IF EXISTS audit_auditrecord_no_update ON audit_auditrecord;",
    "DROP FUNCTION IF EXISTS audit_auditrecord_protect();",
]

# Django stores datetimes on SQLite as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff', which compares correctly
# as text with strftime's 'YYYY-MM-DD HH:MM:SS.SSS'.
SQLITE_INSTALL = [
    """
    CREATE TRIGGER audit_auditrecord_no_update BEFORE UPDATE ON audit_auditrecord
    BEGIN
        SELECT RAISE(ABORT, 'audit records are append-only: UPDATE refused / 审计记录只能追加，不得修改');
    END;
    """,
    """
    CREATE TRIGGER audit_auditrecord_no_delete BEFORE DELETE ON audit_auditrecord
    WHEN OLD.recorded_at > strftime('%Y-%m-%d %H:%M:%f', 'now', '-180 days')
    BEGIN
        SELECT RAISE(ABORT, 'audit record is within the 180-day retention period: DELETE refused / 审计记录未满180天保存期，不得删除');
    END;
    """,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_auditrecord_no_delete;",
    "DROP TRIGGER IF EXISTS audit_auditrecord_no_update;",
]


def _run(schema_editor: Any, statements: dict[str, list[str]]) -> None:
    for statement in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def install(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, {"postgresql": POSTGRESQL_INSTALL, "sqlite": SQLITE_INSTALL})


def remove(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, {"postgresql": POSTGRESQL_REMOVE, "sqlite": SQLITE_REMOVE})


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
