"""`/api/scenarios/`: what-if scenarios (PRODUCT.md §3a) — CRUD for the author, read for executives and finance.

- `changes/` (POST) adds or replaces a change, `changes/<change_id>/` (DELETE) takes one out;
- `propose/` (POST) turns the share and lane changes into change proposals (`scenarios.services`);
- `comparison/` (GET `?fiscal_year=2027&with=1,2`) compares the live plan and up to three scenarios.

A PM gets 403 on every operation; another executive's scenario reads, but a write answers 403.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portfolio import policy
from scenarios import comparison as engine
from scenarios import selectors, services
from scenarios.models import Scenario, ScenarioChange

from .serializers import (
    ComparisonSerializer,
    ProposeResultSerializer,
    ProposeSerializer,
    ScenarioChangeInputSerializer,
    ScenarioChangeSerializer,
    ScenarioInputSerializer,
    ScenarioSerializer,
)

MAX_COMPARED = 3
ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The scenario's id.")
READS = ("list", "retrieve", "comparison")


class ScenarioPermission(permissions.BasePermission):
    """Executives and finance read every scenario and create their own; only the author writes one."""

    message = "Only executives and finance see scenarios."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and policy.can(user, "scenarios.view")):
            return False
        if view.action == "create" and not policy.can(user, "scenarios.create"):
            self.message = "Only executives and finance create scenarios."
            return False
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        if view.action in READS or request.method in permissions.SAFE_METHODS:
            return True
        if policy.can(request.user, "scenario.change", obj):
            return True
        self.message = "Only the scenario's author can change it."
        return False


def _parse_ids(text: str, errors: dict[str, list[str]]) -> list[int]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not all(part.isascii() and part.isdigit() and len(part) <= 12 for part in parts):
        errors["with"] = ["Give scenario ids separated by commas, for example 3,7."]
        return []
    ids = list(dict.fromkeys(int(part) for part in parts))
    if len(ids) > MAX_COMPARED:
        errors["with"] = [f"Compare at most {MAX_COMPARED} scenarios with the live plan."]
    return ids


def _parse_fiscal_year(text: str | None, errors: dict[str, list[str]]) -> int:
    text = (text or "").strip().upper().removeprefix("FY")
    if not (text.isascii() and text.isdigit() and len(text) == 4 and 2000 <= int(text) <= 2100):
        errors["fiscal_year"] = ["Give a fiscal year such as 2027 or FY2027."]
        return 0
    return int(text)


def _figures(figures) -> dict:
    names = (
        "planned_total",
        "planned_marketing",
        "planned_it",
        "marketing_share_of_plan",
        "forecast_total",
        "forecast_marketing",
        "forecast_it",
    )
    return {name: getattr(figures, name) for name in names}


def comparison_data(result) -> dict:
    """The engine's `Comparison` as the API shows it (ComparisonSerializer)."""
    return {
        "fiscal_year": result.fiscal_year,
        "as_of_month": result.as_of_month,
        "columns": [
            {
                "label": column.label,
                "scenario": column.scenario.pk if column.scenario is not None else None,
                "overall": _figures(column.overall),
                "by_lane": {lane: _figures(f) for lane, f in column.by_lane.items()},
                "by_side": {side: _figures(f) for side, f in column.by_side.items()},
            }
            for column in result.columns
        ],
        "differences": [
            {"code": d.code, "title": d.title, "live_lane": d.live_lane, "deltas": d.deltas} for d in result.differences
        ],
    }


@extend_schema_view(
    list=extend_schema(summary="List scenarios (executives and finance)"),
    retrieve=extend_schema(summary="Read a scenario with its changes", parameters=[ID]),
    create=extend_schema(
        summary="Create a scenario (executives and finance)",
        request=ScenarioInputSerializer,
        responses={201: ScenarioSerializer},
    ),
    update=extend_schema(
        summary="Rename a scenario (its author)",
        request=ScenarioInputSerializer,
        responses={200: ScenarioSerializer},
        parameters=[ID],
    ),
    partial_update=extend_schema(
        summary="Rename a scenario, in part (its author)",
        request=ScenarioInputSerializer(partial=True),
        responses={200: ScenarioSerializer},
        parameters=[ID],
    ),
    destroy=extend_schema(summary="Delete a scenario (its author)", parameters=[ID]),
)
@extend_schema(tags=["scenarios"])
class ScenarioViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ScenarioSerializer
    permission_classes = [ScenarioPermission]

    def get_queryset(self):
        changes = ScenarioChange.objects.select_related("initiative", "proposal").order_by("initiative__code", "kind")
        return (
            selectors.visible_scenarios(self.request.user)
            .order_by("-updated_at", "-id")
            .prefetch_related(Prefetch("changes", changes))
        )

    def _answer(self, scenario: Scenario, code: int = status.HTTP_200_OK) -> Response:
        scenario = self.get_queryset().get(pk=scenario.pk)
        data = ScenarioSerializer(scenario, context=self.get_serializer_context()).data
        headers = {"Location": str(data["url"])} if code == status.HTTP_201_CREATED else None
        return Response(data, status=code, headers=headers)

    def create(self, request, *args, **kwargs) -> Response:
        values = ScenarioInputSerializer(data=request.data)
        values.is_valid(raise_exception=True)
        scenario = services.scenario_create(by=request.user, **values.validated_data)
        return self._answer(scenario, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs) -> Response:
        scenario = self.get_object()
        values = ScenarioInputSerializer(data=request.data, partial=kwargs.get("partial", False))
        values.is_valid(raise_exception=True)
        scenario = services.scenario_update(scenario=scenario, by=request.user, **values.validated_data)
        return self._answer(scenario)

    def destroy(self, request, *args, **kwargs) -> Response:
        services.scenario_delete(scenario=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Add a change to a scenario, or replace the one of that kind (its author)",
        request=ScenarioChangeInputSerializer,
        responses={201: ScenarioChangeSerializer},
        parameters=[ID],
    )
    @action(detail=True, methods=["post"], url_path="changes")
    def changes(self, request, pk: str) -> Response:
        scenario = self.get_object()
        values = ScenarioChangeInputSerializer(data=request.data, context=self.get_serializer_context())
        values.is_valid(raise_exception=True)
        fields = {key: value for key, value in values.validated_data.items() if value is not None}
        change = services.scenario_change_set(scenario=scenario, by=request.user, **fields)
        change = ScenarioChange.objects.select_related("initiative", "proposal").get(pk=change.pk)
        return Response(ScenarioChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Take a change out of a scenario (its author)",
        request=None,
        responses={204: None},
        parameters=[ID, OpenApiParameter("change_id", int, OpenApiParameter.PATH, description="The change's id.")],
    )
    @action(detail=True, methods=["delete"], url_path=r"changes/(?P<change_id>[0-9]{1,12})")
    def remove_change(self, request, pk: str, change_id: str) -> Response:
        scenario = self.get_object()
        change = ScenarioChange.objects.filter(scenario=scenario, pk=int(change_id)).first()
        if change is None:
            raise exceptions.NotFound("This scenario has no such change.")
        services.scenario_change_remove(change=change, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Propose the share and lane changes to the sponsors (its author, an executive)",
        description="One ordinary change proposal per approved or in-progress initiative with share and/or lane "
        "changes (dual sign-off; the share's month is its effective month), all or nothing. Initiatives in other "
        "states are listed in `not_proposed`. Finance may not propose (only an initiative's owner or sponsors).",
        request=ProposeSerializer,
        responses={201: ProposeResultSerializer},
        parameters=[ID],
    )
    @action(detail=True, methods=["post"])
    def propose(self, request, pk: str) -> Response:
        scenario = self.get_object()
        values = ProposeSerializer(data=request.data)
        values.is_valid(raise_exception=True)
        proposals = services.scenario_propose(scenario=scenario, by=request.user, **values.validated_data)
        left = [{"initiative": i.code, "why": why} for i, why in services.unproposable(scenario)]
        data = ProposeResultSerializer({"proposals": proposals, "not_proposed": left}).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Compare the live plan and up to three scenarios for a fiscal year",
        parameters=[
            OpenApiParameter("fiscal_year", str, required=True, description="e.g. 2027 or FY2027."),
            OpenApiParameter("with", str, description="Up to three scenario ids, comma-separated: 3,7."),
        ],
        responses={200: ComparisonSerializer},
    )
    @action(detail=False, methods=["get"])
    def comparison(self, request) -> Response:
        errors: dict[str, list[str]] = {}
        fiscal_year = _parse_fiscal_year(request.query_params.get("fiscal_year"), errors)
        ids = _parse_ids(request.query_params.get("with", ""), errors)
        found = {s.pk: s for s in selectors.visible_scenarios(request.user).filter(pk__in=ids)}
        if "with" not in errors and (missing := [str(pk) for pk in ids if pk not in found]):
            errors["with"] = [f"No scenario you can see has the id {', '.join(missing)}."]
        if errors:
            raise exceptions.ValidationError(errors)
        result = engine.comparison(fiscal_year=fiscal_year, scenarios=[found[pk] for pk in ids])
        return Response(ComparisonSerializer(comparison_data(result)).data)
