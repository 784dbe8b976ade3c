"""The compact history keeps the forecast columns too (PRODUCT.md §3 Forecast): the dashboard's
year-end forecast per lane is read from the latest run's history, like every other roll-up.

The latest successful run's history is filled from the split table (which is that run's table);
older runs' forecast stays 0.00: their tables are gone, and nothing reads an older run's forecast
(the share trend reads their actual columns only).
"""

from django.db import migrations, models
from django.db.models import DecimalField, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

FORECAST_COLUMNS = ("forecast_total", "forecast_marketing", "forecast_it")


def fill_latest_run(apps, schema_editor):
    SplitHistory = apps.get_model("split", "SplitHistory")
    SplitRow = apps.get_model("split", "SplitRow")
    # The run whose table the split table is: the last to finish among those that wrote a history.
    finished = F("run__finished_at").desc(nulls_last=True)
    latest = SplitHistory.objects.order_by(finished).values_list("run_id", flat=True).first()
    if latest is None:
        return
    money = DecimalField(max_digits=14, decimal_places=2)
    cell = SplitRow.objects.filter(lane=OuterRef("lane"), month=OuterRef("month")).order_by().values("lane")
    SplitHistory.objects.filter(run_id=latest).update(
        **{
            column: Coalesce(
                Subquery(cell.annotate(total=Sum(column)).values("total"), output_field=money),
                Value(0),
                output_field=money,
            )
            for column in FORECAST_COLUMNS
        }
    )


class Migration(migrations.Migration):
    dependencies = [
        ("split", "0006_split_row_forecast"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name="splithistory",
                name=column,
                field=models.DecimalField(decimal_places=2, default=0, max_digits=14),
            )
            for column in FORECAST_COLUMNS
        ),
        migrations.RunPython(fill_latest_run, migrations.RunPython.noop, elidable=True),
    ]
