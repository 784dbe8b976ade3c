"""The split rows' forecast columns (PRODUCT.md §3 Forecast), filled for the rows already there.

The rows of open months are rewritten by the next recompute anyway; closed (frozen) rows never
are, so this fills every row as of today: a month before the current one counts its actual, the
current month and later ones max(planned, actual) — a closed month counts its actual, its books
being final; marketing's part rounded half away from zero
with the row's share. On PostgreSQL the closed-row guard is switched off for this one statement.
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import migrations, models
from django.utils import timezone

FORECAST_SQL = """
ALTER TABLE budgets_splitrow DISABLE TRIGGER budgets_splitrow_closed_guard;
UPDATE budgets_splitrow r SET forecast_total = f.total,
       forecast_marketing = round(f.total * r.marketing_share_pct * 0.01, 2),
       forecast_it = f.total - round(f.total * r.marketing_share_pct * 0.01, 2)
FROM (
    SELECT id, CASE WHEN closed OR month < %(current)s THEN actual_total ELSE greatest(planned_total, actual_total) END AS total
    FROM budgets_splitrow
) f
WHERE f.id = r.id;
ALTER TABLE budgets_splitrow ENABLE TRIGGER budgets_splitrow_closed_guard;
"""


def forecast_fill(apps, schema_editor):
    current = timezone.localdate().replace(day=1)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORECAST_SQL, {"current": current})
        return
    SplitRow = apps.get_model("split", "SplitRow")
    for row in SplitRow.objects.iterator(chunk_size=2000):
        month = row.month if isinstance(row.month, dt.date) else dt.date.fromisoformat(row.month)
        total = row.actual_total if row.closed or month < current else max(row.planned_total, row.actual_total)
        marketing = (total * row.marketing_share_pct / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        SplitRow.objects.filter(pk=row.pk).update(
            forecast_total=total, forecast_marketing=marketing, forecast_it=total - marketing
        )


class Migration(migrations.Migration):

    dependencies = [
        ("split", "0005_closed_months_settlements"),
    ]

    operations = [
        migrations.AddField(
            model_name='splitrow',
            name='forecast_it',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14),
        ),
        migrations.AddField(
            model_name='splitrow',
            name='forecast_marketing',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14),
        ),
        migrations.AddField(
            model_name='splitrow',
            name='forecast_total',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14),
        ),
        migrations.RunPython(forecast_fill, migrations.RunPython.noop, elidable=True),
    ]
