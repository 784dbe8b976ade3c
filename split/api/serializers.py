"""Serializers of the split's endpoints: rows with the finance export's columns, roll-ups, runs."""

from __future__ import annotations

from rest_framework import serializers

from budgets.api.serializers import FiscalYearField, MonthField, money
from initiatives.api.serializers import PersonField
from initiatives.choices import Lane, Side, Status
from split.arithmetic import FORECAST_COLUMNS, SPLIT_AMOUNT_COLUMNS, SPLIT_COLUMNS
from split.models import Settlement, SettlementLine, SplitRow, SplitRun
from split.settlements import MAX_MONTHS, REFERENCE_MAX_LENGTH, month_count, months_between


class SplitRowSerializer(serializers.ModelSerializer):
    """One (initiative, month) row of the split: the finance export's columns, in its order."""

    fiscal_year = FiscalYearField(read_only=True)
    month = MonthField(read_only=True)

    class Meta:
        model = SplitRow
        fields = list(SPLIT_COLUMNS)
        read_only_fields = fields


FORECAST_HELP = {
    "forecast_total": "The forecast as of the recompute (PRODUCT.md §3): months before the as-of month count their "
    "actual, the as-of month and later ones max(planned, actual); summed over the rows.",
    "forecast_marketing": "Marketing's part of the forecast, rounded per row with the month's share.",
    "forecast_it": "IT's part of the forecast: forecast_total − forecast_marketing.",
}
if tuple(FORECAST_HELP) != FORECAST_COLUMNS:  # pragma: no cover - guards the help against the one list of columns
    raise ImportError("split.api.serializers.FORECAST_HELP is out of step with split.arithmetic.FORECAST_COLUMNS")
TRUE_UP_STATE_HELP = {
    "true_up_settled": "The true-up of closed months an active settlement holds.",
    "true_up_outstanding": "The true-up of closed months not yet settled.",
    "true_up_accruing": "The true-up of open months. Settled + outstanding + accruing = true_up.",
}


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
        for column, help_text in (FORECAST_HELP | TRUE_UP_STATE_HELP).items():
            fields[column] = serializers.DecimalField(max_digits=None, decimal_places=2, help_text=help_text)
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


# --- settlements ---------------------------------------------------------------------------------


class SettlementLineSerializer(serializers.ModelSerializer):
    true_up = money(
        read_only=True, help_text="The initiative's frozen true-up over the months (positive: marketing pays IT)."
    )

    class Meta:
        model = SettlementLine
        fields = ["initiative_code", "initiative_title", "true_up"]
        read_only_fields = fields


class SettlementSerializer(serializers.ModelSerializer):
    """A true-up settlement of closed months (PRODUCT.md §3): never edited, only reversed."""

    url = serializers.HyperlinkedIdentityField(view_name="api:settlement-detail")
    first_month = MonthField(read_only=True)
    last_month = MonthField(read_only=True)
    months = serializers.ListField(child=serializers.CharField(), read_only=True, help_text="Months, YYYY-MM.")
    amount = money(read_only=True, help_text="Sum of the months' frozen true-up: positive, marketing pays IT.")
    direction = serializers.SerializerMethodField(help_text="marketing_pays_it, it_pays_marketing or none.")
    created_by = PersonField(read_only=True)
    reversed_by = PersonField(read_only=True, allow_null=True)

    class Meta:
        model = Settlement
        fields = [
            "id",
            "url",
            "reference",
            "first_month",
            "last_month",
            "months",
            "amount",
            "direction",
            "note",
            "status",
            "created_by",
            "created_at",
            "reversed_by",
            "reversed_at",
            "reversal_reason",
        ]
        read_only_fields = fields

    def get_direction(self, settlement: Settlement) -> str:
        if settlement.amount > 0:
            return "marketing_pays_it"
        if settlement.amount < 0:
            return "it_pays_marketing"
        return "none"


class SettlementDetailSerializer(SettlementSerializer):
    lines = SettlementLineSerializer(many=True, read_only=True, help_text="Per initiative, by code.")

    class Meta(SettlementSerializer.Meta):
        fields = [*SettlementSerializer.Meta.fields, "lines"]
        read_only_fields = fields


class SettlementCreateSerializer(serializers.Serializer):
    """The months to settle, as a list or as the first and last month of a range, and the ERP reference."""

    months = serializers.ListField(
        child=MonthField(),
        required=False,
        allow_empty=False,
        max_length=MAX_MONTHS,
        help_text='The months to settle: ["2026-10", "2026-11"].',
    )
    first_month = MonthField(required=False, help_text="Or the first month of a range (with last_month).")
    last_month = MonthField(required=False, help_text="And the last month of the range, included.")
    reference = serializers.CharField(
        max_length=REFERENCE_MAX_LENGTH,
        trim_whitespace=True,
        help_text="The ERP document that books the settlement.",
        error_messages={
            "required": "Enter the ERP reference of the settlement.",
            "blank": "Enter the ERP reference of the settlement.",
        },
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, data: dict) -> dict:
        months, first, last = data.get("months"), data.get("first_month"), data.get("last_month")
        if months and (first or last):
            raise serializers.ValidationError({"months": ["Give months, or first_month and last_month: not both."]})
        if not months:
            if not (first and last):
                missing = "last_month" if first else "first_month" if last else "months"
                raise serializers.ValidationError(
                    {missing: ["Give the months to settle, or first_month and last_month."]}
                )
            if last < first:
                raise serializers.ValidationError({"last_month": ["The last month cannot be before the first."]})
            if month_count(first, last) > MAX_MONTHS:
                raise serializers.ValidationError({"last_month": [f"A settlement covers at most {MAX_MONTHS} months."]})
            months = months_between(first, last)
        return {"months": months, "reference": data["reference"], "note": data.get("note", "")}


class SettlementReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(
        help_text="Why the settlement is reversed (kept with who and when).",
        error_messages={
            "required": "Say why the settlement is being reversed.",
            "blank": "Say why the settlement is being reversed.",
        },
    )
