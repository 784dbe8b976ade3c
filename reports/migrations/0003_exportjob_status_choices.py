
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0002_exportjob_status_is_a_job_status'),
    ]

    operations = [
        migrations.AlterField(
            model_name='exportjob',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('skipped', 'Skipped'), ('interrupted', 'Interrupted')], default='queued', max_length=16),
        ),
    ]
