"""`/api/outcomes/`: outcome KPIs (PRODUCT.md §3b) and their measurements.

- KPIs: whoever may see the initiative reads its KPIs (others answer 404); its owner, a PM, creates,
  changes and deletes them through `outcomes.services` (the policy's `outcome.edit`; others get 403).
- `measurements/` under a KPI: GET lists them (newest first), POST records a day's value or corrects it
  (`outcome.measure`), `measurements/<measurement_id>/` DELETE removes one.
- Filters: `initiative` (code), `owner_side`, `lane` (the initiative's), `on_track` (today; a KPI not
  measured yet is neither on nor off track).
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from budgets.filtersets import FilterForm
from initiatives.choices import Lane
from initiatives.models import Initiative
from initiatives.rules import visible_initiatives
from outcomes import services
from outcomes.choices import Side
from outcomes.models import OutcomeKpi, OutcomeMeasurement
from portfolio import policy
from portfolio.filters import ChoiceValueFilter, CodeFilter

from .serializers import (
    KpiInputSerializer,
    KpiSerializer,
    KpiUpdateSerializer,
    MeasurementInputSerializer,
    MeasurementSerializer,
)

ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The KPI's id.")
MEASUREMENT_ID = OpenApiParameter("measurement_id", int, OpenApiParameter.PATH, description="The measurement's id.")
READS = ("list", "retrieve")


class KpiFilterSet(django_filters.FilterSet):
    initiative = CodeFilter(field_name="initiative__code", label="Initiative code")
    owner_side = ChoiceValueFilter(choices=Side.choices)
    lane = ChoiceValueFilter(field_name="initiative__lane", choices=Lane.choices)
    on_track = django_filters.BooleanFilter(method="filter_on_track", label="On track today")

    class Meta:
        model = OutcomeKpi
        form = FilterForm
        fields = ["initiative", "owner_side", "lane", "on_track"]

    def filter_on_track(self, queryset, name, value):
        if value is None:
            return queryset
        day = services.today()
        return queryset.on_track(day) if value else queryset.off_track(day)


class KpiPermission(permissions.BasePermission):
    """Reads: whoever sees the initiative (the queryset). Writes: project managers, the owner by the policy."""

    message = "Only the initiative's owner, a project manager, changes its KPIs and measurements."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return view.action in READS or request.method in permissions.SAFE_METHODS or policy.is_pm(user)

    def has_object_permission(self, request, view, obj) -> bool:
        if view.action in READS or request.method in permissions.SAFE_METHODS:
            return True
        rule = "outcome.measure" if view.action in ("measurements", "remove_measurement") else "outcome.edit"
        if policy.can(request.user, rule, obj.initiative):
            return True
        self.message = (
            f"The permission policy does not let you {'record measurements of' if 'measure' in rule else 'change'} "
            f"{obj.initiative.code}'s KPIs (status: {obj.initiative.get_status_display().lower()})."
        )
        return False


@extend_schema_view(
    list=extend_schema(summary="List the outcome KPIs of the initiatives you can see"),
    retrieve=extend_schema(summary="Read an outcome KPI with its measured figures", parameters=[ID]),
    create=extend_schema(
        summary="Add an outcome KPI to an initiative (its owner)",
        request=KpiInputSerializer,
        responses={201: KpiSerializer},
    ),
    update=extend_schema(
        summary="Change an outcome KPI (its initiative's owner)",
        request=KpiUpdateSerializer,
        responses={200: KpiSerializer},
        parameters=[ID],
    ),
    partial_update=extend_schema(
        summary="Change an outcome KPI, in part (its initiative's owner)",
        request=KpiUpdateSerializer(partial=True),
        responses={200: KpiSerializer},
        parameters=[ID],
    ),
    destroy=extend_schema(
        summary="Delete an outcome KPI and its measurements (its initiative's owner)", parameters=[ID]
    ),
)
@extend_schema(tags=["outcomes"])
class KpiViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = KpiSerializer
    permission_classes = [KpiPermission]
    filterset_class = KpiFilterSet
    ordering_fields = ["id", "target_date", "attainment_pct"]
    ordering = ["initiative__code", "id"]

    def get_queryset(self):
        visible = visible_initiatives(self.request.user, Initiative.objects.all())
        return OutcomeKpi.objects.filter(initiative__in=visible).select_related("initiative")

    def _answer(self, kpi: OutcomeKpi, code: int = status.HTTP_200_OK) -> Response:
        kpi = OutcomeKpi.objects.select_related("initiative").get(pk=kpi.pk)
        data = KpiSerializer(kpi, context=self.get_serializer_context()).data
        headers = {"Location": str(data["url"])} if code == status.HTTP_201_CREATED else None
        return Response(data, status=code, headers=headers)

    def create(self, request, *args, **kwargs) -> Response:
        values = KpiInputSerializer(data=request.data, context=self.get_serializer_context())
        values.is_valid(raise_exception=True)
        fields = dict(values.validated_data)
        initiative = fields.pop("initiative")
        kpi = services.kpi_create(initiative=initiative, by=request.user, **fields)
        return self._answer(kpi, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs) -> Response:
        kpi = self.get_object()
        values = KpiUpdateSerializer(data=request.data, partial=kwargs.get("partial", False))
        values.is_valid(raise_exception=True)
        kpi = services.kpi_update(kpi=kpi, by=request.user, **values.validated_data)
        return self._answer(kpi)

    def destroy(self, request, *args, **kwargs) -> Response:
        services.kpi_delete(kpi=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        summary="List a KPI's measurements, newest first",
        request=None,
        responses={200: MeasurementSerializer(many=True)},
        parameters=[ID],
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Record a KPI's value on a day, or correct that day's (its initiative's owner)",
        request=MeasurementInputSerializer,
        responses={201: MeasurementSerializer, 200: MeasurementSerializer},
        parameters=[ID],
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None, ordering_fields=[], ordering=None)
    def measurements(self, request, pk: str) -> Response:
        kpi = self.get_object()
        if request.method == "GET":
            measurements = OutcomeMeasurement.objects.filter(kpi=kpi).select_related("recorded_by")
            page = self.paginate_queryset(measurements.order_by("-measured_on", "-id"))
            return self.get_paginated_response(MeasurementSerializer(page, many=True).data)
        values = MeasurementInputSerializer(data=request.data)
        values.is_valid(raise_exception=True)
        existed = OutcomeMeasurement.objects.filter(kpi=kpi, measured_on=values.validated_data["measured_on"]).exists()
        measurement = services.measurement_record(kpi=kpi, by=request.user, **values.validated_data)
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(MeasurementSerializer(measurement).data, status=code)

    @extend_schema(
        summary="Remove a measurement recorded by mistake (its initiative's owner)",
        request=None,
        responses={204: None},
        parameters=[ID, MEASUREMENT_ID],
    )
    @action(detail=True, methods=["delete"], url_path=r"measurements/(?P<measurement_id>[0-9]{1,12})")
    def remove_measurement(self, request, pk: str, measurement_id: str) -> Response:
        kpi = self.get_object()
        measurement = OutcomeMeasurement.objects.filter(kpi=kpi, pk=int(measurement_id)).first()
        if measurement is None:
            raise exceptions.NotFound("This KPI has no such measurement.")
        services.measurement_delete(measurement=measurement, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
