"""The database's own guard behind the period lock service (PRODUCT.md §2 "Period lock").

The services refuse any write dated in a locked month with a clear message; on
PostgreSQL these statement-level triggers make the same rule hold for every
other path too (raw SQL, QuerySet.update, a script): one set-based check per
statement against the small lock table, so bulk loads stay fast.
"""

from django.db import migrations

TABLES = {"budgets_budgetline": "month", "budgets_expense": "incurred_on"}

FUNCTION = """
CREATE OR REPLACE FUNCTION {table}_period_lock_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    locked date;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT l.month INTO locked FROM budgets_periodlock l
        WHERE EXISTS (SELECT 1 FROM old_rows r
                      WHERE r.{column} >= l.month AND r.{column} < (l.month + interval '1 month'))
        ORDER BY l.month LIMIT 1;
    END IF;
    IF locked IS NULL AND TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT l.month INTO locked FROM budgets_periodlock l
        WHERE EXISTS (SELECT 1 FROM new_rows r
                      WHERE r.{column} >= l.month AND r.{column} < (l.month + interval '1 month'))
        ORDER BY l.month LIMIT 1;
    END IF;
    IF locked IS NOT NULL THEN
        RAISE EXCEPTION '% is locked: nothing dated in it can be created, changed or deleted until finance unlocks it.',
            trim(to_char(locked, 'FMMonth YYYY'))
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER {table}_lock_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_period_lock_guard();
CREATE TRIGGER {table}_lock_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_period_lock_guard();
CREATE TRIGGER {table}_lock_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_period_lock_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS {table}_lock_insert ON {table};
DROP TRIGGER IF EXISTS {table}_lock_update ON {table};
DROP TRIGGER IF EXISTS {table}_lock_delete ON {table};
DROP FUNCTION IF EXISTS {table}_period_lock_guard();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: the lock service is the guard
    for table, column in TABLES.items():
        schema_editor.execute(FUNCTION.format(table=table, column=column), params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(DROP.format(table=table), params=None)


class Migration(migrations.Migration):
    dependencies = [("budgets", "0004_export_job")]

    operations = [migrations.RunPython(create, drop)]
