"""`/api/initiatives/`: list, read, file and revise initiatives, and walk them through the workflow.

Declarative like the web views: the queryset comes from the selectors (scoped by
the policy, so an initiative you may not see is a 404), the filters from the one
`InitiativeFilterSet`, permissions from `portfolio.policy`, and every write from
`initiatives.services`. The workflow actions (`submit/`, `approve/`…) are made from
the status steps of the workflow table, one per verb, and documented from their rows.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from initiatives import agreements, selectors, services, workflow
from initiatives.choices import Status
from initiatives.filtersets import InitiativeFilterSet
from initiatives.models import Initiative
from initiatives.selectors import initiative_queryset
from portfolio.api import FilterBackend, PolicyPermission
from portfolio.text import canonical_code

from .serializers import (
    AgreementSerializer,
    InitiativeDetailSerializer,
    InitiativeInputSerializer,
    InitiativeSerializer,
    ProposalInputSerializer,
    ProposalSerializer,
    TransitionSerializer,
    initiative_service_errors,
)

# Two filters of the one FilterSet compute their choices per request (sponsors from the
# users, years from today), so the schema generator cannot guess their types: say them.
extend_schema_field({"type": "integer", "description": "A sponsor's user id (either side)."})(
    InitiativeFilterSet.base_filters["sponsor"]
)
extend_schema_field(
    {"type": "string", "pattern": "^[0-9]{4}$", "description": "Active in that fiscal year, e.g. 2027."}
)(InitiativeFilterSet.base_filters["fiscal_year"])

CODE_PARAMETER = OpenApiParameter(
    "code", str, OpenApiParameter.PATH, description="The initiative's code, e.g. INI-0042."
)


def _states(states) -> str:
    return ", ".join(f"`{status}`" for status in Status.values if status in states)


def _transition_action(verb: str):
    """The POST action of the status steps called `verb`, documented from their rows of the workflow table."""
    steps = [step for step in workflow.STATUS_STEPS if step.verb == verb]
    first = steps[0]
    moves = "; ".join(f"from {_states(step.from_states)} to `{step.to_state}`" for step in steps)
    reason = "`reason` is required" if workflow.reason_required(first) else "`reason` is optional"
    description = " ".join(filter(None, [f"{first.button}: {moves}.", first.explain, f"{reason}."]))

    def take_step(self, request, code: str) -> Response:
        return self._transition(verb)

    take_step.__name__ = take_step.__qualname__ = verb
    take_step = action(detail=True, methods=["post"], url_path=verb)(take_step)
    return extend_schema(
        summary=f"{first.button} ({first.who.label})",
        description=description,
        request=TransitionSerializer,
        responses={200: InitiativeDetailSerializer},
        parameters=[CODE_PARAMETER],
        tags=["initiatives"],
    )(take_step)


@extend_schema_view(
    list=extend_schema(
        summary="List initiatives",
        description="Every initiative you may see (a PM does not see other PMs' drafts), newest first "
        "unless `sort` says otherwise.",
    ),
    retrieve=extend_schema(
        summary="Read an initiative",
        description="With its `estimate_at_completion` (sum of its split rows' `forecast_total`).",
        parameters=[CODE_PARAMETER],
    ),
    create=extend_schema(
        summary="File an initiative (PMs)",
        description="Files a draft owned by you. The field rules are the filing form's: sponsors must be "
        "executives of their side, the end not before the start, the share between 0 and 100, and a "
        "justification when the lane differs from the questionnaire's recommendation.",
        request=InitiativeInputSerializer,
        responses={201: InitiativeDetailSerializer},
    ),
    update=extend_schema(
        summary="Revise a draft or rejected initiative (its owner)",
        request=InitiativeInputSerializer,
        responses={200: InitiativeDetailSerializer},
        parameters=[CODE_PARAMETER],
    ),
    partial_update=extend_schema(
        summary="Revise some fields of a draft or rejected initiative (its owner)",
        request=InitiativeInputSerializer(partial=True),
        responses={200: InitiativeDetailSerializer},
        parameters=[CODE_PARAMETER],
    ),
)
@extend_schema(tags=["initiatives"])
class InitiativeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = InitiativeSerializer
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"
    filter_backends = [FilterBackend]  # sorting is the FilterSet's `sort`, as on the web list
    filterset_class = InitiativeFilterSet
    permission_classes = [PolicyPermission]
    policy_actions = {
        "list": None,
        "retrieve": None,
        "create": "initiative.create",
        "update": "initiative.edit",
        "partial_update": "initiative.edit",
        "agreements": None,  # whoever sees the initiative sees its timeline
        "proposals": None,  # reading: the same; proposing: the service asks the policy
        **{step.verb: step.action for step in workflow.STATUS_STEPS},
    }

    def get_serializer_class(self):
        return InitiativeSerializer if self.action == "list" else InitiativeDetailSerializer

    def get_queryset(self):
        platforms = Prefetch("platforms", queryset=Initiative.objects.only("id", "code").order_by("id"))
        return initiative_queryset(user=self.request.user).prefetch_related(platforms)

    def get_object(self) -> Initiative:
        self.kwargs[self.lookup_field] = canonical_code(self.kwargs[self.lookup_field])
        return super().get_object()

    def _call(self, service: Callable[..., Initiative], **kwargs) -> Initiative:
        try:
            return service(by=self.request.user, **kwargs)
        except DjangoValidationError as error:
            raise ValidationError(initiative_service_errors(error)) from error

    def _show(self, initiative: Initiative, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=initiative.pk)
        data = InitiativeDetailSerializer(fresh, context=self.get_serializer_context()).data
        # str(): the field gives a Hyperlink (a str subclass), which WSGI servers refuse in a header.
        headers = {"Location": str(data["url"])} if status_code == status.HTTP_201_CREATED else None
        return Response(data, status=status_code, headers=headers)

    def create(self, request, *args, **kwargs) -> Response:
        serializer = InitiativeInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        values = {"platforms": [], **serializer.validated_data}
        initiative = self._call(services.initiative_create, **values)
        return self._show(initiative, status.HTTP_201_CREATED)

    def update(self, request, *args, partial: bool = False, **kwargs) -> Response:
        initiative = self.get_object()
        serializer = InitiativeInputSerializer(
            data=request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        given = dict(serializer.validated_data)
        if partial:
            values = InitiativeInputSerializer.current_values(initiative)
            if "lane_assessment" in given:
                given["lane_assessment"] = {**values["lane_assessment"], **given["lane_assessment"]}
        else:
            values = {"platforms": []}
        values.update(given)
        self._call(services.initiative_update, initiative=initiative, **values)
        return self._show(initiative)

    @extend_schema(
        summary="The co-funding agreement timeline",
        description="The initiative's agreements, oldest first: each share applies from its month "
        "(`effective_from`, the first day) until the next agreement's month; before the first agreement's month, "
        "the first one. Empty before dual sign-off. Who sees the initiative sees its timeline.",
        responses={200: AgreementSerializer(many=True)},
        parameters=[CODE_PARAMETER],
        filters=False,
    )
    @action(detail=True, methods=["get"], url_path="agreements", filter_backends=[], pagination_class=None)
    def agreements(self, request, code: str) -> Response:
        initiative = self.get_object()
        timeline = agreements.agreement_timeline(initiative)
        return Response(AgreementSerializer(timeline, many=True, context=self.get_serializer_context()).data)

    @extend_schema(
        methods=["GET"],
        summary="The initiative's change proposals",
        description="Newest first, pending and decided. A share change says from which month it applies "
        "(`effective_from`) and the share it changes from (`previous_values.marketing_share_pct`).",
        responses={200: ProposalSerializer(many=True)},
        parameters=[CODE_PARAMETER],
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Propose a change (the owner or a sponsor)",
        description="A new share (from `effective_from`, by default the first month from the current one on that "
        "is not locked; never a locked month, never before the start month), lane or sponsor for an approved or "
        "in-progress initiative. It waits for both sponsors; a sponsor who proposes it has approved it.",
        request=ProposalInputSerializer,
        responses={201: ProposalSerializer},
        parameters=[CODE_PARAMETER],
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], url_path="proposals", filter_backends=[], pagination_class=None)
    def proposals(self, request, code: str) -> Response:
        initiative = self.get_object()
        context = self.get_serializer_context()
        if request.method == "GET":
            return Response(ProposalSerializer(selectors.initiative_proposals(initiative=initiative), many=True).data)
        serializer = ProposalInputSerializer(data=request.data, context=context)
        serializer.is_valid(raise_exception=True)
        proposal = self._call(services.change_proposal_create, initiative=initiative, **serializer.validated_data)
        return Response(ProposalSerializer(proposal, context=context).data, status=status.HTTP_201_CREATED)

    def _transition(self, verb: str) -> Response:
        initiative = self.get_object()
        serializer = TransitionSerializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        self._call(
            services.initiative_transition,
            initiative=initiative,
            verb=verb,
            reason=serializer.validated_data["reason"],
        )
        return self._show(initiative)


# One POST action per status step of the workflow table: submit/, approve/, reject/, start/, complete/, cancel/.
for _verb in workflow.STATUS_VERBS:
    setattr(InitiativeViewSet, _verb, _transition_action(_verb))
