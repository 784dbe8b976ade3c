
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('split', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='splitrun',
            name='progress',
            field=models.PositiveSmallIntegerField(default=0, help_text='Percent done, 0–100.'),
        ),
        migrations.AlterField(
            model_name='splitrun',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
