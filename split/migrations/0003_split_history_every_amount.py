"""The compact history keeps every money column of the split rows (issue 15: every figure is read,
none is derived from others outside the arithmetic). The four new columns of the runs already
recorded are filled from their sums, which hold the split's identities (IT = total − marketing,
paid by IT = actual − paid by marketing, variance = planned − actual)."""

from django.db import migrations, models
from django.db.models import F

NEW_COLUMNS = ("planned_it", "actual_it", "paid_it", "variance")


def fill_recorded_runs(apps, schema_editor):
    SplitHistory = apps.get_model("split", "SplitHistory")
    SplitHistory.objects.update(
        planned_it=F("planned_total") - F("planned_marketing"),
        actual_it=F("actual_total") - F("actual_marketing"),
        paid_it=F("actual_total") - F("paid_marketing"),
        variance=F("planned_total") - F("actual_total"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("split", "0002_split_run_is_a_job"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name="splithistory",
                name=column,
                field=models.DecimalField(decimal_places=2, default=0, max_digits=14),
                preserve_default=False,
            )
            for column in NEW_COLUMNS
        ),
        migrations.RunPython(fill_recorded_runs, migrations.RunPython.noop, elidable=True),
    ]
