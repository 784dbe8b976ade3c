"""Serializers of the split's endpoints: rows with the finance export's columns, roll-ups, runs."""

from __future__ import annotations

from rest_framework import serializers

from budgets.api.serializers import FiscalYearField, MonthField
from initiatives.api.serializers import PersonField
from initiatives.choices import Lane, Side, Status
from split.arithmetic import SPLIT_AMOUNT_COLUMNS, SPLIT_COLUMNS
from split.models import SplitRow, SplitRun


class SplitRowSerializer(serializers.ModelSerializer):
    """One (initiative, month) row of the split: the finance export's columns, in its order."""

    fiscal_year = FiscalYearField(read_only=True)
    month = MonthField(read_only=True)

    class Meta:
        model = SplitRow
        fields = list(SPLIT_COLUMNS)
        read_only_fields = fields


class SplitSummaryRowSerializer(serializers.Serializer):
    """One roll-up: the sums of the rows it covers. Only the `group_by` fields are present."""

    lane = serializers.ChoiceField(choices=Lane.choices, required=False)
    side = serializers.ChoiceField(
        choices=Side.choices, required=False, allow_null=True, help_text="The owner's side (null: none)."
    )
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    fiscal_year = FiscalYearField(required=False)
    quarter = serializers.IntegerField(min_value=1, max_value=4, required=False, help_text="Fiscal quarter.")
    month = MonthField(required=False)
    initiative_code = serializers.CharField(required=False)
    initiative_title = serializers.CharField(required=False)
    rows = serializers.IntegerField(help_text="How many split rows the roll-up covers.")
    # Unbounded: credits can make a roll-up's total tiny and its share large.
    marketing_share_of_actual = serializers.DecimalField(
        max_digits=None,
        decimal_places=2,
        allow_null=True,
        help_text="actual_marketing / actual_total in percent (null when nothing was spent).",
    )

    def to_representation(self, instance: dict) -> dict:
        data = super().to_representation(instance)
        return {name: value for name, value in data.items() if name in instance}  # only the groups asked for

    def get_fields(self):
        fields = super().get_fields()
        for column in SPLIT_AMOUNT_COLUMNS:
            # A roll-up can hold more digits than one row's column.
            fields[column] = serializers.DecimalField(max_digits=None, decimal_places=2)
        return fields


class SplitSummarySerializer(serializers.Serializer):
    group_by = serializers.CharField(allow_null=True, help_text="The grouping asked for (null: whole portfolio).")
    as_of = serializers.DateTimeField(
        allow_null=True, help_text="When the latest successful recompute finished (null: never run)."
    )
    results = SplitSummaryRowSerializer(many=True)


class SplitRunSerializer(serializers.ModelSerializer):
    requested_by = PersonField(read_only=True, allow_null=True, help_text="Who asked for it (null: the schedule).")
    url = serializers.HyperlinkedIdentityField(view_name="api:recompute-detail")

    class Meta:
        model = SplitRun
        fields = [
            "id",
            "url",
            "status",
            "trigger",
            "requested_by",
            "queued_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "row_count",
            "error",
        ]
        read_only_fields = fields
