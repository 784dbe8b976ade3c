"""`/api/initiatives/`: list, read, file and revise initiatives, and walk them through the workflow.

Declarative like the web views: the queryset comes from the selectors (scoped by
the policy, so an initiative you may not see is a 404), the filters from the one
`InitiativeFilterSet`, permissions from `portfolio.policy`, and every write from
`initiatives.services`.
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

from initiatives import services
from initiatives.filtersets import InitiativeFilterSet
from initiatives.models import Initiative
from initiatives.selectors import initiative_queryset
from portfolio.api import FilterBackend, PolicyPermission
from portfolio.text import canonical_code

from .serializers import (
    InitiativeInputSerializer,
    InitiativeSerializer,
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


def _transition_schema(summary: str, description: str):
    return extend_schema(
        summary=summary,
        description=description,
        request=TransitionSerializer,
        responses={200: InitiativeSerializer},
        parameters=[CODE_PARAMETER],
        tags=["initiatives"],
    )


@extend_schema_view(
    list=extend_schema(
        summary="List initiatives",
        description="Every initiative you may see (a PM does not see other PMs' drafts), newest first "
        "unless `sort` says otherwise.",
    ),
    retrieve=extend_schema(summary="Read an initiative", parameters=[CODE_PARAMETER]),
    create=extend_schema(
        summary="File an initiative (PMs)",
        description="Files a draft owned by you. The field rules are the filing form's: sponsors must be "
        "executives of their side, the end not before the start, the share between 0 and 100, and a "
        "justification when the lane differs from the questionnaire's recommendation.",
        request=InitiativeInputSerializer,
        responses={201: InitiativeSerializer},
    ),
    update=extend_schema(
        summary="Revise a draft or rejected initiative (its owner)",
        request=InitiativeInputSerializer,
        responses={200: InitiativeSerializer},
        parameters=[CODE_PARAMETER],
    ),
    partial_update=extend_schema(
        summary="Revise some fields of a draft or rejected initiative (its owner)",
        request=InitiativeInputSerializer(partial=True),
        responses={200: InitiativeSerializer},
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
        "submit": "initiative.submit",
        "approve": "initiative.approve",
        "reject": "initiative.reject",
        "start": "initiative.start",
        "complete": "initiative.complete",
        "cancel": "initiative.cancel",
    }

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
        data = InitiativeSerializer(fresh, context=self.get_serializer_context()).data
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

    def _transition(self, service: Callable[..., Initiative]) -> Response:
        initiative = self.get_object()
        serializer = TransitionSerializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        self._call(service, initiative=initiative, reason=serializer.validated_data["reason"])
        return self._show(initiative)

    @_transition_schema(
        "Submit for approval (the owner)",
        "A draft or rejected initiative goes to both sponsors; a resubmission needs both sign-offs again.",
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, code: str) -> Response:
        return self._transition(services.initiative_submit)

    @_transition_schema(
        "Approve (a sponsor)",
        "One sponsor's sign-off; the initiative becomes `approved` when both its marketing and its IT sponsor "
        "have approved it.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, code: str) -> Response:
        return self._transition(services.initiative_approve)

    @_transition_schema(
        "Reject (a sponsor)",
        "Turns the submission down; `reason` is required and tells the owner what to change.",
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, code: str) -> Response:
        return self._transition(services.initiative_reject)

    @_transition_schema("Start work (the owner or a sponsor)", "An approved initiative becomes `in_progress`.")
    @action(detail=True, methods=["post"])
    def start(self, request, code: str) -> Response:
        return self._transition(services.initiative_start)

    @_transition_schema("Complete (the owner or a sponsor)", "An in-progress initiative becomes `done`.")
    @action(detail=True, methods=["post"])
    def complete(self, request, code: str) -> Response:
        return self._transition(services.initiative_complete)

    @_transition_schema("Cancel (a sponsor)", "Stops an open initiative; `reason` is required.")
    @action(detail=True, methods=["post"])
    def cancel(self, request, code: str) -> Response:
        return self._transition(services.initiative_cancel)
