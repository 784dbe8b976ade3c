"""Closed months and true-up settlements (PRODUCT.md §3 "Closed months are final", "True-up settlement").

On PostgreSQL a row trigger is the database's guard behind the freeze: a closed split row cannot be
changed or deleted while its month is closed (`split_closedmonth` holds it). Unfreezing deletes the
closed month first, then clears the rows' flag. The WHEN clause keeps the trigger off open rows, so the
recompute's delete of the open rows never calls it.
"""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


GUARD = """
CREATE OR REPLACE FUNCTION budgets_splitrow_closed_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM split_closedmonth c WHERE c.month = OLD.month) THEN
        RAISE EXCEPTION 'The split of % is closed: its rows never change until finance unlocks the month.',
            trim(to_char(OLD.month, 'FMMonth YYYY'))
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER budgets_splitrow_closed_guard BEFORE UPDATE OR DELETE ON budgets_splitrow
    FOR EACH ROW WHEN (OLD.closed) EXECUTE FUNCTION budgets_splitrow_closed_guard();
"""

DROP_GUARD = """
DROP TRIGGER IF EXISTS budgets_splitrow_closed_guard ON budgets_splitrow;
DROP FUNCTION IF EXISTS budgets_splitrow_closed_guard();
"""


def create_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD, params=None)


def drop_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_GUARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("budgets", "0008_move_split_and_export_models"),
        ("initiatives", "0008_cofunding_agreements"),
        ("split", "0004_split_run_trigger_help"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="splitrow",
            name="closed",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="ClosedMonth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(help_text="The first day of the closed calendar month.", unique=True)),
                ("frozen_at", models.DateTimeField(auto_now_add=True)),
                ("row_count", models.PositiveIntegerField(default=0)),
                ("planned_total", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("planned_marketing", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("actual_total", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("actual_marketing", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("paid_marketing", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("paid_it", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("true_up", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                (
                    "frozen_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "lock",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="closed_month",
                        to="budgets.periodlock",
                    ),
                ),
            ],
            options={
                "ordering": ["-month"],
            },
        ),
        migrations.CreateModel(
            name="HistoricalClosedMonth",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("month", models.DateField(db_index=True, help_text="The first day of the closed calendar month.")),
                ("frozen_at", models.DateTimeField(blank=True, editable=False)),
                ("row_count", models.PositiveIntegerField(default=0)),
                ("planned_total", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("planned_marketing", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("actual_total", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("actual_marketing", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("paid_marketing", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("paid_it", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("true_up", models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "frozen_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "lock",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="budgets.periodlock",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical closed month",
                "verbose_name_plural": "historical closed months",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalSettlement",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "reference",
                    models.CharField(help_text="The ERP document that booked the settlement.", max_length=100),
                ),
                ("first_month", models.DateField()),
                ("last_month", models.DateField()),
                (
                    "months",
                    models.JSONField(default=list, help_text="The months settled, as YYYY-MM (kept after a reversal)."),
                ),
                (
                    "amount",
                    models.DecimalField(
                        decimal_places=2,
                        help_text="Sum of the months' frozen true-up: positive, marketing pays IT.",
                        max_digits=14,
                    ),
                ),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(blank=True, editable=False)),
                (
                    "status",
                    models.CharField(
                        choices=[("active", "Settled"), ("reversed", "Reversed")], default="active", max_length=16
                    ),
                ),
                ("reversed_at", models.DateTimeField(blank=True, null=True)),
                ("reversal_reason", models.TextField(blank=True)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "reversed_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "historical settlement",
                "verbose_name_plural": "historical settlements",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="Settlement",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "reference",
                    models.CharField(help_text="The ERP document that booked the settlement.", max_length=100),
                ),
                ("first_month", models.DateField()),
                ("last_month", models.DateField()),
                (
                    "months",
                    models.JSONField(default=list, help_text="The months settled, as YYYY-MM (kept after a reversal)."),
                ),
                (
                    "amount",
                    models.DecimalField(
                        decimal_places=2,
                        help_text="Sum of the months' frozen true-up: positive, marketing pays IT.",
                        max_digits=14,
                    ),
                ),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "status",
                    models.CharField(
                        choices=[("active", "Settled"), ("reversed", "Reversed")], default="active", max_length=16
                    ),
                ),
                ("reversed_at", models.DateTimeField(blank=True, null=True)),
                ("reversal_reason", models.TextField(blank=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "reversed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-first_month", "-created_at"],
            },
        ),
        migrations.CreateModel(
            name="SettlementLine",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("initiative_code", models.CharField(max_length=16)),
                ("initiative_title", models.CharField(max_length=200)),
                ("true_up", models.DecimalField(decimal_places=2, max_digits=14)),
                (
                    "initiative",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="initiatives.initiative",
                    ),
                ),
                (
                    "settlement",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="lines", to="split.settlement"
                    ),
                ),
            ],
            options={
                "ordering": ["settlement", "initiative_code"],
            },
        ),
        migrations.CreateModel(
            name="SettlementMonth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(unique=True)),
                (
                    "closed_month",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="settlement_month",
                        to="split.closedmonth",
                    ),
                ),
                (
                    "settlement",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="settled_months",
                        to="split.settlement",
                    ),
                ),
            ],
            options={
                "ordering": ["month"],
            },
        ),
        migrations.AddConstraint(
            model_name="closedmonth",
            constraint=models.CheckConstraint(
                condition=models.Q(("month__day", 1)),
                name="closed_month_is_first_day",
                violation_error_message="A closed month is the first day of a calendar month.",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlement",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "active")),
                fields=("reference",),
                name="settlement_reference_unique_active",
                violation_error_message="A settlement with this ERP reference already exists.",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlement",
            constraint=models.CheckConstraint(
                condition=models.Q(("reference", ""), _negated=True),
                name="settlement_reference_required",
                violation_error_message="Enter the ERP reference of the settlement.",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlement",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["active", "reversed"])),
                name="settlement_status_valid",
                violation_error_message="Unknown settlement status.",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("reversed_at__isnull", True), ("status", "active")),
                    models.Q(
                        ("reversed_at__isnull", False),
                        ("status", "reversed"),
                        models.Q(("reversal_reason", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="settlement_reversal_recorded",
                violation_error_message="A reversal records when and why.",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("first_month__day", 1), ("last_month__day", 1), ("last_month__gte", models.F("first_month"))
                ),
                name="settlement_months_valid",
                violation_error_message="A settlement covers whole months, the first not after the last.",
            ),
        ),
        migrations.AddConstraint(
            model_name="settlementline",
            constraint=models.UniqueConstraint(
                fields=("settlement", "initiative"), name="settlement_line_unique_initiative"
            ),
        ),
        migrations.RunPython(create_guard, drop_guard),
    ]
