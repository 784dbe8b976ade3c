"""The reports models moved out of `budgets` (issue 15): their tables stay where they are (db_table),
so the database is not touched; only Django's state and the content types move to `reports`."""


import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


MOVED_MODELS = ('exportjob',)


def move_content_types(apps, schema_editor):
    """Keep permissions, admin log entries and history pointing at the same content types."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="budgets", model__in=MOVED_MODELS).update(app_label="reports")


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="reports", model__in=MOVED_MODELS).update(app_label="budgets")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('budgets', '0007_split_run_interrupted_one_queued'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(move_content_types, move_content_types_back),
        migrations.SeparateDatabaseAndState(
            state_operations=[

                    migrations.CreateModel(
                        name='ExportJob',
                        fields=[
                            ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                            ('format', models.CharField(choices=[('csv', 'CSV'), ('xlsx', 'Excel (XLSX)'), ('journal', 'True-up journal (CSV)')], max_length=8)),
                            ('filters', models.JSONField(blank=True, default=dict, help_text='The query parameters of the export, normalised.')),
                            ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Ready'), ('failed', 'Failed')], default='queued', max_length=16)),
                            ('progress', models.PositiveSmallIntegerField(default=0, help_text='Percent done, 0–100.')),
                            ('row_count', models.PositiveIntegerField(blank=True, help_text='Rows to write (known when queued).', null=True)),
                            ('rows_written', models.PositiveIntegerField(default=0)),
                            ('file', models.CharField(blank=True, help_text='Path of the file relative to MEDIA_ROOT.', max_length=255)),
                            ('file_name', models.CharField(blank=True, help_text='The name the download gets.', max_length=200)),
                            ('file_size', models.PositiveBigIntegerField(blank=True, null=True)),
                            ('as_of', models.DateTimeField(blank=True, help_text='As-of time of the split run exported.', null=True)),
                            ('error', models.TextField(blank=True)),
                            ('created_at', models.DateTimeField(auto_now_add=True)),
                            ('started_at', models.DateTimeField(blank=True, null=True)),
                            ('finished_at', models.DateTimeField(blank=True, null=True)),
                            ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ],
                        options={
                            'db_table': 'budgets_exportjob',
                            'ordering': ['-created_at'],
                            'indexes': [models.Index(fields=['requested_by', '-created_at'], name='export_job_user_created'), models.Index(fields=['created_at'], name='export_job_created')],
                            'constraints': [models.CheckConstraint(condition=models.Q(('progress__lte', 100)), name='export_job_progress_at_most_100', violation_error_message='Progress is a percentage (0–100).'), models.CheckConstraint(condition=models.Q(('format__in', ['csv', 'xlsx', 'journal'])), name='export_job_format_valid', violation_error_message='Unknown export format.'), models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'succeeded', 'failed'])), name='export_job_status_valid', violation_error_message='Unknown export status.')],
                        },
                    ),
            ],
        ),
    ]
