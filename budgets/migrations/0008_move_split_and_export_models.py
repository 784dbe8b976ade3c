"""The split and export models moved to the `split` and `reports` apps (issue 15).

State only: the tables keep their names (the new models set db_table), nothing in the
database changes.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("budgets", "0007_split_run_interrupted_one_queued"),
        ("split", "0001_initial"),
        ("reports", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="SplitHistory"),
                migrations.DeleteModel(name="SplitRow"),
                migrations.DeleteModel(name="SplitRun"),
                migrations.DeleteModel(name="OverspendAlert"),
                migrations.DeleteModel(name="ExportJob"),
            ],
        ),
    ]
