"""Serializers of `/api/outcomes/`: outcome KPIs with their measured figures, their measurements, the inputs.

Input serializers check types (a number with at most 4 places, a date, a choice); every business rule —
the target beyond the baseline, the target date, five KPIs at most, no measurement in the future — is
`outcomes.services`', whose field messages come back as the 400 body. Values are decimal strings.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from initiatives.api.serializers import PersonField, VisibleInitiativeField
from outcomes import attainment
from outcomes.choices import Direction, Side
from outcomes.models import VALUE_DIGITS, VALUE_PLACES, OutcomeKpi, OutcomeMeasurement
from outcomes.services import today
from portfolio.api import ValueOrLabelChoiceField

FIGURES = attainment.MEASURED_FIGURES


def value(**options) -> serializers.DecimalField:
    """A baseline, target or measured value: up to 14 digits and 4 places, as a decimal string."""
    return serializers.DecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES, **options)


class KpiSerializer(serializers.ModelSerializer):
    """An outcome KPI (PRODUCT.md §3b) with what its measurements say (read-only, kept by the services)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:outcome-detail")
    initiative = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="The initiative's code.")
    initiative_title = serializers.CharField(source="initiative.title", read_only=True)
    on_track = serializers.SerializerMethodField(
        help_text="On track today: attainment at least the elapsed share of the time from the first measurement "
        "to the target date. Null before any measurement."
    )

    class Meta:
        model = OutcomeKpi
        fields = [
            "id",
            "url",
            "initiative",
            "initiative_title",
            "name",
            "unit",
            "direction",
            "baseline",
            "target",
            "target_date",
            "owner_side",
            *FIGURES,
            "on_track",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "attainment_pct": {"help_text": "(latest − baseline) / (target − baseline) × 100, two places."},
            "on_track_until": {"help_text": "The last day the KPI is on track (9999-12-31: target reached)."},
        }

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_on_track(self, kpi: OutcomeKpi) -> bool | None:
        return kpi.on_track_on(today())


class KpiInputSerializer(serializers.Serializer):
    """A KPI's definition; on update, `initiative` is ignored and omitted fields keep their value (PATCH)."""

    initiative = VisibleInitiativeField(help_text="The initiative's code (on create).")
    name = serializers.CharField(max_length=120, help_text="Unique within the initiative, case aside.")
    unit = serializers.CharField(max_length=24, help_text="e.g. %, ms, USD, orders a day.")
    direction = ValueOrLabelChoiceField(choices=Direction.choices)
    baseline = value()
    target = value(help_text="Beyond the baseline in the KPI's direction.")
    target_date = serializers.DateField(help_text="Not before the initiative starts.")
    owner_side = ValueOrLabelChoiceField(choices=Side.choices, help_text="The side that owns the KPI.")


class KpiUpdateSerializer(KpiInputSerializer):
    initiative = None


class MeasurementSerializer(serializers.ModelSerializer):
    """A KPI's value on a day."""

    recorded_by = PersonField(read_only=True, allow_null=True)

    class Meta:
        model = OutcomeMeasurement
        fields = ["id", "kpi", "measured_on", "value", "recorded_by", "created_at"]
        read_only_fields = fields


class MeasurementInputSerializer(serializers.Serializer):
    """Record the value of a day; a day already recorded is corrected."""

    measured_on = serializers.DateField(help_text="YYYY-MM-DD, not in the future.")
    value = value()
