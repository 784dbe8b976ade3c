"""The split models moved out of `budgets` (issue 15): their tables stay where they are (db_table),
so the database is not touched; only Django's state and the content types move to `split`."""


import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


MOVED_MODELS = ('splitrow', 'splitrun', 'splithistory', 'overspendalert')


def move_content_types(apps, schema_editor):
    """Keep permissions, admin log entries and history pointing at the same content types."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="budgets", model__in=MOVED_MODELS).update(app_label="split")


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="split", model__in=MOVED_MODELS).update(app_label="budgets")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('budgets', '0007_split_run_interrupted_one_queued'),
        ('initiatives', '0006_notification'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(move_content_types, move_content_types_back),
        migrations.SeparateDatabaseAndState(
            state_operations=[

                    migrations.CreateModel(
                        name='SplitRun',
                        fields=[
                            ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                            ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('skipped', 'Skipped'), ('interrupted', 'Interrupted')], default='queued', max_length=16)),
                            ('trigger', models.CharField(default='schedule', help_text='schedule, command, ui or api', max_length=16)),
                            ('queued_at', models.DateTimeField(auto_now_add=True)),
                            ('started_at', models.DateTimeField(blank=True, null=True)),
                            ('finished_at', models.DateTimeField(blank=True, help_text='The as-of time of a successful run.', null=True)),
                            ('duration_ms', models.PositiveIntegerField(blank=True, null=True)),
                            ('row_count', models.PositiveIntegerField(blank=True, null=True)),
                            ('error', models.TextField(blank=True)),
                            ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ],
                        options={
                            'db_table': 'budgets_splitrun',
                            'ordering': ['-queued_at'],
                        },
                    ),
                    migrations.CreateModel(
                        name='SplitHistory',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('lane', models.CharField(max_length=16)),
                            ('month', models.DateField()),
                            ('fiscal_year', models.PositiveSmallIntegerField()),
                            ('planned_total', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('planned_marketing', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('actual_total', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('actual_marketing', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('paid_marketing', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('true_up', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='history_rows', to='split.splitrun')),
                        ],
                        options={
                            'verbose_name_plural': 'split history',
                            'db_table': 'budgets_splithistory',
                            'ordering': ['run', 'month', 'lane'],
                        },
                    ),
                    migrations.CreateModel(
                        name='OverspendAlert',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('month', models.DateField(help_text='The first day of the calendar month the alert was sent in.')),
                            ('sent_at', models.DateTimeField(auto_now_add=True)),
                            ('fiscal_year', models.PositiveSmallIntegerField(help_text='The fiscal year whose year-to-date figures triggered it.')),
                            ('planned_total', models.DecimalField(decimal_places=2, help_text='Fiscal-year-to-date planned spend when sent.', max_digits=14)),
                            ('actual_total', models.DecimalField(decimal_places=2, help_text='Fiscal-year-to-date actual spend when sent.', max_digits=14)),
                            ('initiative', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='overspend_alerts', to='initiatives.initiative')),
                        ],
                        options={
                            'db_table': 'budgets_overspendalert',
                            'ordering': ['-sent_at'],
                            'constraints': [models.UniqueConstraint(fields=('initiative', 'month'), name='overspend_alert_unique_initiative_month', violation_error_message='An overspend alert was already sent for this initiative and month.'), models.CheckConstraint(condition=models.Q(('month__day', 1)), name='overspend_alert_month_is_first_day', violation_error_message='An alert month is the first day of a calendar month.')],
                        },
                    ),
                    migrations.CreateModel(
                        name='SplitRow',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('month', models.DateField()),
                            ('fiscal_year', models.PositiveSmallIntegerField()),
                            ('fiscal_quarter', models.PositiveSmallIntegerField()),
                            ('initiative_code', models.CharField(max_length=16)),
                            ('initiative_title', models.CharField(max_length=200)),
                            ('lane', models.CharField(max_length=16)),
                            ('status', models.CharField(max_length=16)),
                            ('marketing_share_pct', models.DecimalField(decimal_places=2, max_digits=5)),
                            ('planned_total', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('planned_marketing', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('planned_it', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('actual_total', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('actual_marketing', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('actual_it', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('paid_marketing', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('paid_it', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('true_up', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('variance', models.DecimalField(decimal_places=2, max_digits=14)),
                            ('initiative', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='initiatives.initiative')),
                        ],
                        options={
                            'db_table': 'budgets_splitrow',
                            'ordering': ['fiscal_year', 'month', 'initiative_code'],
                            'indexes': [models.Index(fields=['fiscal_year', 'fiscal_quarter'], name='split_row_fiscal'), models.Index(fields=['month', 'initiative_code'], name='split_row_month_code')],
                            'constraints': [models.UniqueConstraint(fields=('initiative', 'month'), name='split_row_unique_initiative_month')],
                        },
                    ),
                    migrations.AddIndex(
                        model_name='splitrun',
                        index=models.Index(fields=['status', '-finished_at'], name='split_run_status_finished'),
                    ),
                    migrations.AddConstraint(
                        model_name='splitrun',
                        constraint=models.UniqueConstraint(condition=models.Q(('status', 'queued')), fields=('status',), name='split_run_one_queued', violation_error_message='A recompute is already queued; a new request joins it.'),
                    ),
                    migrations.AddConstraint(
                        model_name='splithistory',
                        constraint=models.UniqueConstraint(fields=('run', 'lane', 'month'), name='split_history_unique_run_lane_month'),
                    ),
            ],
        ),
    ]
