"""Serializers of `/api/initiatives/`: the shape of the data, nothing more.

Input serializers check types (a date is a date, a sponsor is an existing user,
a lane is one of the lanes); every business rule — who may sponsor, the share's
range, end not before start, the lane justification — is applied by
`initiatives.services`, whose field messages come back as the 400 body.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from initiatives.choices import Health, Lane
from initiatives.lane_assessment import QUESTIONS
from initiatives.models import CoFundingAgreement, Initiative, InitiativeChangeProposal
from initiatives.rules import visible_initiatives
from portfolio import forecasts, policy
from portfolio.api import ValueOrLabelChoiceField, service_error_detail
from portfolio.text import canonical_code

User = get_user_model()


@extend_schema_field({"type": "string", "description": "A username.", "example": "cmo"})
class PersonField(serializers.SlugRelatedField):
    """A person by username."""

    default_error_messages = {
        "does_not_exist": "There is no active user “{value}”.",
        "invalid": "Give a username.",
    }

    def __init__(self, **kwargs):
        if not kwargs.get("read_only"):
            kwargs["queryset"] = User.objects.filter(is_active=True)
        super().__init__(slug_field="username", **kwargs)


@extend_schema_field({"type": "string", "description": "An initiative code.", "example": "INI-0042"})
class VisibleInitiativeField(serializers.SlugRelatedField):
    """An initiative by code, among those the requesting user may see (others do not exist for them)."""

    default_error_messages = {
        "does_not_exist": "No initiative you can see has the code “{value}”.",
        "invalid": "Give an initiative code such as INI-0007.",
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", **kwargs)

    def get_queryset(self):
        request = self.context["request"]
        return visible_initiatives(request.user, Initiative.objects.all())

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = canonical_code(data)
        return super().to_internal_value(data)


def _assessment_fields(**options) -> dict[str, serializers.Field]:
    return {
        question.key: ValueOrLabelChoiceField(choices=question.choices, help_text=question.text, **options)
        for question in QUESTIONS
    }


# The six answers of the lane questionnaire (initiatives/lane_assessment.py), one field each.
LaneAssessmentSerializer = type(
    "LaneAssessmentSerializer",
    (serializers.Serializer,),
    {"__doc__": "The lane questionnaire: every question must be answered.", **_assessment_fields()},
)
LaneAssessmentOutputSerializer = type(
    "LaneAssessmentOutputSerializer",
    (serializers.Serializer,),
    # Not read-only: read-only fields are "always present" in the schema; an answer may be missing.
    {"__doc__": "The lane questionnaire's answers as filed.", **_assessment_fields(required=False)},
)


class InitiativeSerializer(serializers.ModelSerializer):
    """An initiative as the API shows it."""

    owner = PersonField(read_only=True)
    marketing_sponsor = PersonField(read_only=True)
    it_sponsor = PersonField(read_only=True)
    platforms = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="code", help_text="Codes of the core-stack initiatives it builds on."
    )
    it_share_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, read_only=True, help_text="100 − marketing_share_pct."
    )
    lane_assessment = LaneAssessmentOutputSerializer(read_only=True)
    lane_recommended = serializers.ChoiceField(
        choices=Lane.choices, allow_blank=True, read_only=True, help_text="What the questionnaire recommends."
    )
    estimated_cost = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="What the PM expects the whole initiative to cost (reporting currency); null on a draft "
        "without one. Required to submit.",
    )
    url = serializers.HyperlinkedIdentityField(view_name="api:initiative-detail", lookup_field="code")

    class Meta:
        model = Initiative
        fields = [
            "code",
            "url",
            "title",
            "summary",
            "owner",
            "marketing_sponsor",
            "it_sponsor",
            "lane",
            "status",
            "start_date",
            "end_date",
            "marketing_share_pct",
            "it_share_pct",
            "estimated_cost",
            "health",
            "platforms",
            "lane_assessment",
            "lane_recommended",
            "lane_justification",
            "marketing_approved_at",
            "it_approved_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class InitiativeDetailSerializer(InitiativeSerializer):
    """One initiative (`/api/initiatives/<code>/`): the list's fields and its estimate at completion."""

    estimate_at_completion = serializers.SerializerMethodField(
        help_text="Its whole-life forecast (PRODUCT.md §3): the sum of forecast_total over all its split rows, "
        "as of the latest recompute; null for who may not see its finances."
    )

    class Meta(InitiativeSerializer.Meta):
        fields = [*InitiativeSerializer.Meta.fields, "estimate_at_completion"]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "decimal", "nullable": True, "example": "480000.00"})
    def get_estimate_at_completion(self, initiative: Initiative) -> str | None:
        request = self.context.get("request")
        if request is None or not policy.can(request.user, "initiative.view_finances", initiative):
            return None
        total = forecasts.estimates_at_completion([initiative.pk])[initiative.pk]
        return f"{total:.2f}"


class InitiativeInputSerializer(serializers.Serializer):
    """A filing (POST) or a revision of a draft or rejected initiative (PUT/PATCH)."""

    title = serializers.CharField(allow_blank=True, trim_whitespace=False)
    summary = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="The business outcome.")
    marketing_sponsor = PersonField(help_text="Username of a marketing-side executive.")
    it_sponsor = PersonField(help_text="Username of an IT-side executive.")
    lane = ValueOrLabelChoiceField(choices=Lane.choices)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    marketing_share_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text="Marketing's share of every cost, 0–100; IT bears the rest."
    )
    estimated_cost = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        allow_null=True,
        default=None,
        help_text="What the whole initiative is expected to cost, ≥ 0 (reporting currency). May be left out "
        "of a draft; required to submit.",
    )
    health = ValueOrLabelChoiceField(choices=Health.choices, default=Health.GREEN)
    platforms = VisibleInitiativeField(many=True, required=False, help_text="Codes of core-stack initiatives.")
    lane_assessment = LaneAssessmentSerializer()
    lane_justification = serializers.CharField(
        allow_blank=True,
        required=False,
        default="",
        trim_whitespace=False,
        help_text="Why, when the chosen lane is not the recommended one.",
    )

    @staticmethod
    def current_values(initiative: Initiative) -> dict[str, Any]:
        """The initiative's values in the serializer's terms: PATCH fills what it was not sent from these."""
        return {
            "title": initiative.title,
            "summary": initiative.summary,
            "marketing_sponsor": initiative.marketing_sponsor,
            "it_sponsor": initiative.it_sponsor,
            "lane": initiative.lane,
            "start_date": initiative.start_date,
            "end_date": initiative.end_date,
            "marketing_share_pct": initiative.marketing_share_pct,
            "estimated_cost": initiative.estimated_cost,
            "health": initiative.health,
            "platforms": list(initiative.platforms.order_by("id")),
            "lane_assessment": dict(initiative.lane_assessment or {}),
            "lane_justification": initiative.lane_justification,
        }


class TransitionSerializer(serializers.Serializer):
    """The why of a workflow step: required to reject or cancel, optional otherwise."""

    reason = serializers.CharField(
        allow_blank=True, required=False, default="", trim_whitespace=False, help_text="Recorded on the timeline."
    )


@extend_schema_field({"type": "string", "description": "A person's full name (or username).", "example": "Carla Diaz"})
class PersonNameField(serializers.Field):
    """A person's name as the pages show it (read only)."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, user) -> str:
        return user.get_full_name() or user.get_username()


class AgreementSerializer(serializers.ModelSerializer):
    """One agreement of the co-funding timeline: the share from its month until the next agreement's."""

    effective_from = serializers.DateField(
        read_only=True, help_text="The first day of the month from which this share applies (YYYY-MM-DD)."
    )
    it_share_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, read_only=True, help_text="100 − marketing_share_pct."
    )
    marketing_signed_by = PersonField(read_only=True, help_text="Username of the marketing sponsor who signed.")
    marketing_signed_by_name = PersonNameField(source="marketing_signed_by")
    it_signed_by = PersonField(read_only=True, help_text="Username of the IT sponsor who signed.")
    it_signed_by_name = PersonNameField(source="it_signed_by")
    proposal = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="Id of the share-change proposal it came from; null for the dual sign-off's."
    )

    class Meta:
        model = CoFundingAgreement
        fields = [
            "effective_from",
            "marketing_share_pct",
            "it_share_pct",
            "marketing_signed_by",
            "marketing_signed_by_name",
            "marketing_signed_at",
            "it_signed_by",
            "it_signed_by_name",
            "it_signed_at",
            "proposal",
            "created_at",
        ]
        read_only_fields = fields


class ProposalSerializer(serializers.ModelSerializer):
    """A change proposal as the API shows it: what changes (and from what), from which month, who approved."""

    proposed_by = PersonField(read_only=True)
    marketing_sponsor = PersonField(read_only=True, help_text="The proposed marketing sponsor, if it changes.")
    it_sponsor = PersonField(read_only=True, help_text="The proposed IT sponsor, if it changes.")
    marketing_approved_by = PersonField(read_only=True)
    it_approved_by = PersonField(read_only=True)
    decided_by = PersonField(read_only=True)
    effective_from = serializers.DateField(
        read_only=True, allow_null=True, help_text="The month (first day) from which the new share applies."
    )
    previous_values = serializers.DictField(
        child=serializers.CharField(), read_only=True, help_text="The values it changes from, as shown to the sponsors."
    )

    class Meta:
        model = InitiativeChangeProposal
        fields = [
            "id",
            "status",
            "proposed_by",
            "proposed_at",
            "reason",
            "marketing_share_pct",
            "effective_from",
            "lane",
            "marketing_sponsor",
            "it_sponsor",
            "previous_values",
            "marketing_approved_by",
            "marketing_approved_at",
            "it_approved_by",
            "it_approved_at",
            "decided_by",
            "decided_at",
            "decision_reason",
        ]
        read_only_fields = fields


class ProposalInputSerializer(serializers.Serializer):
    """A new share (from a month), lane or sponsor for an approved or in-progress initiative."""

    reason = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="Why the change is needed.")
    marketing_share_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True, help_text="The new share, 0–100."
    )
    effective_from = serializers.DateField(
        required=False,
        allow_null=True,
        input_formats=["%Y-%m-%d", "%Y-%m"],
        help_text="The month the new share applies from (YYYY-MM or any day of it); by default the first month "
        "from the current one on that is not locked. Never a locked month, never before the start month.",
    )
    lane = ValueOrLabelChoiceField(choices=Lane.choices, required=False, allow_blank=True, default="")
    marketing_sponsor = PersonField(required=False, allow_null=True, default=None)
    it_sponsor = PersonField(required=False, allow_null=True, default=None)


def initiative_service_errors(error: DjangoValidationError) -> dict[str, Any]:
    """The services' field messages in the API's field names (`assessment_<key>` → `lane_assessment.<key>`)."""
    detail = service_error_detail(error)
    answers = {
        key.removeprefix("assessment_"): detail.pop(key) for key in list(detail) if key.startswith("assessment_")
    }
    if answers:
        detail["lane_assessment"] = answers
    return detail
