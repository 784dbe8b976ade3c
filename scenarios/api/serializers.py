"""Serializers of `/api/scenarios/`: scenarios with their changes, the input of each write, the comparison."""

from __future__ import annotations

from rest_framework import serializers

from budgets.api.serializers import FiscalYearField, MonthField, money
from initiatives.api.serializers import PersonField, ProposalSerializer, VisibleInitiativeField
from initiatives.choices import Lane
from portfolio.api import ValueOrLabelChoiceField
from scenarios.choices import ChangeKind
from scenarios.models import Scenario, ScenarioChange

SHARE_HELP = "Marketing's share from from_month on, 0–100 with two places (kind `share`)."
SCALE_HELP = "The plan × plan_scale_pct / 100 from from_month on, ≥ 0 with two places (kind `scale`)."
FROM_MONTH_HELP = "The month the change applies from, YYYY-MM, inside the initiative's dates (share, exclude, scale)."


class ScenarioChangeSerializer(serializers.ModelSerializer):
    """One change of a scenario, with the proposal made of it (share and lane changes) and its state."""

    initiative = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="The initiative's code.")
    initiative_title = serializers.CharField(source="initiative.title", read_only=True)
    from_month = MonthField(read_only=True, allow_null=True)
    proposal = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The change proposal's id."
    )
    proposal_state = serializers.SerializerMethodField(
        help_text="not_proposed, pending, approved, rejected or withdrawn."
    )

    class Meta:
        model = ScenarioChange
        fields = [
            "id",
            "initiative",
            "initiative_title",
            "kind",
            "from_month",
            "marketing_share_pct",
            "lane",
            "plan_scale_pct",
            "proposal",
            "proposal_state",
        ]
        read_only_fields = fields

    def get_proposal_state(self, change: ScenarioChange) -> str:
        from scenarios.selectors import proposal_state

        return proposal_state(change)


class ScenarioSerializer(serializers.ModelSerializer):
    """A what-if scenario (PRODUCT.md §3a): owned by its author, read by executives and finance."""

    url = serializers.HyperlinkedIdentityField(view_name="api:scenario-detail")
    author = PersonField(read_only=True)
    changes = ScenarioChangeSerializer(many=True, read_only=True, help_text="By initiative code and kind.")

    class Meta:
        model = Scenario
        fields = ["id", "url", "name", "description", "author", "created_at", "updated_at", "changes"]
        read_only_fields = fields


class ScenarioInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, help_text="Unique among your scenarios.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ScenarioChangeInputSerializer(serializers.Serializer):
    """A change to one initiative; a second change of the same kind replaces the first."""

    initiative = VisibleInitiativeField()
    kind = ValueOrLabelChoiceField(choices=ChangeKind.choices)
    from_month = MonthField(required=False, allow_null=True, help_text=FROM_MONTH_HELP)
    marketing_share_pct = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        required=False,
        allow_null=True,
        help_text=SHARE_HELP,
    )
    lane = ValueOrLabelChoiceField(choices=Lane.choices, required=False, allow_blank=True, help_text="Kind `lane`.")
    plan_scale_pct = serializers.DecimalField(
        max_digits=7, decimal_places=2, min_value=0, required=False, allow_null=True, help_text=SCALE_HELP
    )


class ProposeSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="Why: both sponsors read it.")


class UnproposableSerializer(serializers.Serializer):
    initiative = serializers.CharField(help_text="The initiative's code.")
    why = serializers.CharField()


class ScenarioProposalSerializer(ProposalSerializer):
    """A change proposal made of a scenario, with its initiative's code."""

    initiative = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="The initiative's code.")

    class Meta(ProposalSerializer.Meta):
        fields = ["initiative", *ProposalSerializer.Meta.fields]
        read_only_fields = fields


class ProposeResultSerializer(serializers.Serializer):
    proposals = ScenarioProposalSerializer(many=True, help_text="The change proposals made, one per initiative.")
    not_proposed = UnproposableSerializer(many=True, help_text="Initiatives not approved or in progress: left.")


class FiguresSerializer(serializers.Serializer):
    planned_total = money()
    planned_marketing = money()
    planned_it = money()
    marketing_share_of_plan = serializers.DecimalField(
        max_digits=5, decimal_places=2, allow_null=True, help_text="planned_marketing / planned_total × 100."
    )
    forecast_total = money()
    forecast_marketing = money()
    forecast_it = money()


class ColumnSerializer(serializers.Serializer):
    label = serializers.CharField()
    scenario = serializers.IntegerField(allow_null=True, help_text="The scenario's id; null for the live plan.")
    overall = FiguresSerializer()
    by_lane = serializers.DictField(child=FiguresSerializer(), help_text="By lane.")
    by_side = serializers.DictField(child=FiguresSerializer(), help_text="By owner's side ('' without one).")


class DeltaSerializer(serializers.Serializer):
    planned_total = money()
    planned_marketing = money()
    forecast_marketing = money()
    forecast_it = money()
    lane = serializers.CharField(allow_blank=True, help_text="The scenario's lane when it differs, else ''.")


class DifferenceSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    live_lane = serializers.CharField()
    deltas = serializers.ListField(
        child=DeltaSerializer(allow_null=True), help_text="Per scenario, in order; null where it equals live."
    )


class ComparisonSerializer(serializers.Serializer):
    fiscal_year = FiscalYearField()
    as_of_month = MonthField()
    columns = ColumnSerializer(many=True, help_text="The live plan, then each scenario.")
    differences = DifferenceSerializer(many=True, help_text="Initiatives that differ from live, by code.")
