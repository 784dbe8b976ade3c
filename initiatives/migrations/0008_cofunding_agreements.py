"""Co-funding agreements (PRODUCT.md §2): the share becomes a timeline.

Every existing initiative that both sponsors signed off gets one agreement from its start month with
today's share, signed by its sponsors at their approval times (before this change the one share applied
to every month of its life, so the split does not move). A share-change proposal now carries its
effective month; proposals made before it applied from the start month, which they get here.
"""

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models


def _month(day):
    return day.replace(day=1)


def backfill(apps, schema_editor):
    Initiative = apps.get_model("initiatives", "Initiative")
    Agreement = apps.get_model("initiatives", "CoFundingAgreement")
    Proposal = apps.get_model("initiatives", "InitiativeChangeProposal")
    signed = Initiative.objects.filter(marketing_approved_at__isnull=False, it_approved_at__isnull=False)
    batch = []
    for initiative in signed.only(
        "id",
        "start_date",
        "marketing_share_pct",
        "marketing_sponsor_id",
        "it_sponsor_id",
        "marketing_approved_at",
        "it_approved_at",
    ).iterator(chunk_size=2000):
        batch.append(
            Agreement(
                initiative_id=initiative.id,
                effective_from=_month(initiative.start_date),
                marketing_share_pct=initiative.marketing_share_pct,
                marketing_signed_by_id=initiative.marketing_sponsor_id,
                marketing_signed_at=initiative.marketing_approved_at,
                it_signed_by_id=initiative.it_sponsor_id,
                it_signed_at=initiative.it_approved_at,
                created_at=max(initiative.marketing_approved_at, initiative.it_approved_at),
            )
        )
        if len(batch) >= 2000:
            Agreement.objects.bulk_create(batch)
            batch = []
    Agreement.objects.bulk_create(batch)
    for proposal in Proposal.objects.filter(
        marketing_share_pct__isnull=False, effective_from__isnull=True
    ).select_related("initiative"):
        proposal.effective_from = _month(proposal.initiative.start_date)
        proposal.save(update_fields=["effective_from"])


class Migration(migrations.Migration):
    dependencies = [
        ("initiatives", "0007_notification_status_interrupted"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CoFundingAgreement",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "effective_from",
                    models.DateField(help_text="The first day of the month from which this share applies."),
                ),
                (
                    "marketing_share_pct",
                    models.DecimalField(decimal_places=2, max_digits=5, verbose_name="marketing share (%)"),
                ),
                ("marketing_signed_at", models.DateTimeField(blank=True, null=True)),
                ("it_signed_at", models.DateTimeField(blank=True, null=True, verbose_name="IT signed at")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["initiative", "effective_from"],
            },
        ),
        migrations.CreateModel(
            name="HistoricalCoFundingAgreement",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "effective_from",
                    models.DateField(help_text="The first day of the month from which this share applies."),
                ),
                (
                    "marketing_share_pct",
                    models.DecimalField(decimal_places=2, max_digits=5, verbose_name="marketing share (%)"),
                ),
                ("marketing_signed_at", models.DateTimeField(blank=True, null=True)),
                ("it_signed_at", models.DateTimeField(blank=True, null=True, verbose_name="IT signed at")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
            ],
            options={
                "verbose_name": "historical co funding agreement",
                "verbose_name_plural": "historical co funding agreements",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.AddField(
            model_name="initiativechangeproposal",
            name="effective_from",
            field=models.DateField(
                blank=True,
                help_text="The first day of the month from which a new share applies (PRODUCT.md §2 Co-funding agreement).",
                null=True,
                verbose_name="effective from",
            ),
        ),
        migrations.AddField(
            model_name="cofundingagreement",
            name="initiative",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="agreements", to="initiatives.initiative"
            ),
        ),
        migrations.AddField(
            model_name="cofundingagreement",
            name="it_signed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="IT signed by",
            ),
        ),
        migrations.AddField(
            model_name="cofundingagreement",
            name="marketing_signed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="cofundingagreement",
            name="proposal",
            field=models.ForeignKey(
                blank=True,
                help_text="The share-change proposal it came from (none for the dual sign-off's first agreement).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="agreements",
                to="initiatives.initiativechangeproposal",
            ),
        ),
        migrations.AddField(
            model_name="historicalcofundingagreement",
            name="history_user",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="historicalcofundingagreement",
            name="initiative",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="initiatives.initiative",
            ),
        ),
        migrations.AddField(
            model_name="historicalcofundingagreement",
            name="it_signed_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="IT signed by",
            ),
        ),
        migrations.AddField(
            model_name="historicalcofundingagreement",
            name="marketing_signed_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalcofundingagreement",
            name="proposal",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="The share-change proposal it came from (none for the dual sign-off's first agreement).",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="initiatives.initiativechangeproposal",
            ),
        ),
        migrations.AddConstraint(
            model_name="cofundingagreement",
            constraint=models.UniqueConstraint(
                fields=("initiative", "effective_from"),
                name="agreement_unique_initiative_month",
                violation_error_message="This initiative already has an agreement from that month.",
            ),
        ),
        migrations.AddConstraint(
            model_name="cofundingagreement",
            constraint=models.CheckConstraint(
                condition=models.Q(("effective_from__day", 1)),
                name="agreement_effective_from_first_day",
                violation_error_message="An agreement takes effect from the first day of a month.",
            ),
        ),
        migrations.AddConstraint(
            model_name="cofundingagreement",
            constraint=models.CheckConstraint(
                condition=models.Q(("marketing_share_pct__gte", 0), ("marketing_share_pct__lte", 100)),
                name="agreement_share_between_0_and_100",
                violation_error_message="Marketing's share must be between 0 and 100 %.",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="initiativechangeproposal",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("effective_from__isnull", True), ("marketing_share_pct__isnull", True)),
                    models.Q(("effective_from__day", 1), ("marketing_share_pct__isnull", False)),
                    _connector="OR",
                ),
                name="change_proposal_share_has_effective_month",
                violation_error_message="A new share needs its effective month (the first day of a month).",
            ),
        ),
    ]
