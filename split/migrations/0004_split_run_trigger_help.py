
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('split', '0003_split_history_every_amount'),
    ]

    operations = [
        migrations.AlterField(
            model_name='splitrun',
            name='trigger',
            field=models.CharField(default='schedule', help_text='schedule, command, ui, api or retry', max_length=16),
        ),
    ]
