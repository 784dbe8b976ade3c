"""The split's endpoints: `/api/split/` (rows), `/api/split/summary/` (roll-ups), `/api/recompute/`.

Read-only over the split rows of the latest recompute, with the finance export's filters and
column names (PRODUCT.md §3–§4); finance queues a recompute with a POST.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from budgets.filtersets import FilterForm, MonthFilter
from portfolio.api import FilterBackend, KeysetPagination, PolicyPermission, query_parameter
from portfolio.filters import ChoiceValueFilter
from split.filtersets import SplitRowFilterSet
from split.models import Settlement, SettlementLine, SettlementStatus, SplitRow, SplitRun
from split.selectors import (
    FILTER_NAMES,
    SUMMARY_GROUPS,
    SplitFilterError,
    SplitFilters,
    latest_successful_run,
    ledger_version,
    run_cached,
    split_rows,
    split_summary,
    split_summary_by_side,
)
from split.services import SplitRecomputeError, split_recompute_request
from split.settlements import settlement_create, settlement_reverse, settlements

from .serializers import (
    SettlementCreateSerializer,
    SettlementDetailSerializer,
    SettlementReverseSerializer,
    SettlementSerializer,
    SplitRowSerializer,
    SplitRunSerializer,
    SplitSummarySerializer,
)


def _split_filters(params) -> SplitFilters:
    """The summary's filters: the FilterSet's (as `FilterBackend` validates the rows'), a 400 per bad parameter."""
    try:
        return SplitFilters.parse(params)
    except SplitFilterError as error:
        raise ValidationError({name: [message] for name, message in error.errors.items()}) from error


class SplitPagination(KeysetPagination):
    page_size = 500
    max_page_size = 5000


@extend_schema(
    tags=["split"],
    summary="The spend split",
    description="One row per initiative and month, as of the latest recompute, in the finance export's order and "
    "with its column names (PRODUCT.md §3–§4). Cursor-paginated: follow `next`.",
)
class SplitRowViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = SplitRowSerializer
    pagination_class = SplitPagination
    filter_backends = [FilterBackend]  # the export's filters (SplitRowFilterSet); the cursor fixes the order
    filterset_class = SplitRowFilterSet
    keyset_ordering = ("month", "initiative_code")  # = fiscal_year, month, code: the export's order
    permission_classes = [PolicyPermission]
    policy_actions = {"list": "split.view"}

    def get_queryset(self):
        return split_rows()


# split_summary's groups, plus the owner's side (see split_summary_by_side).
GROUPS = ("lane", "side", "status", "fiscal_year", "quarter", "month", "initiative")
if set(GROUPS) - {"side"} != set(SUMMARY_GROUPS):  # pragma: no cover - guards the list against the selector's
    raise ImportError("split.api.views.GROUPS is out of step with split.selectors.SUMMARY_GROUPS")


def _summary_row(result: dict[str, Any]) -> dict[str, Any]:
    row = dict(result)
    if "fiscal_quarter" in row:
        row["quarter"] = row.pop("fiscal_quarter")
    row.pop("initiative_id", None)
    if "side" in row:
        row["side"] = row["side"] or None
    return row


class SplitSummaryView(GenericAPIView):
    serializer_class = SplitSummarySerializer
    permission_classes = [PolicyPermission]
    policy_actions = {"get": "split.view"}
    pagination_class = None
    filter_backends = [FilterBackend]  # documents the FilterSet's parameters; get() validates them the same way
    filterset_class = SplitRowFilterSet
    queryset = SplitRow.objects.none()  # the model whose FilterSet documents the parameters

    @extend_schema(
        tags=["split"],
        summary="Roll-ups of the spend split",
        description="The split's amounts summed per group, with `marketing_share_of_actual`; every roll-up is "
        "the sum of the rows it covers, so marketing + IT equals the total in each. The true-up is also split into "
        "`true_up_settled` (closed months an active settlement holds), `true_up_outstanding` (closed, not settled) "
        "and `true_up_accruing` (open months), which add up to `true_up`. The forecast (§3) is summed the same way: "
        "`forecast_total`, `forecast_marketing`, `forecast_it` (marketing + IT = total). `group_by`: lane, side (the "
        "owner's side), status, fiscal_year, quarter (fiscal), month or initiative; without it, one row for the "
        "whole (filtered) portfolio.",
        parameters=[query_parameter("group_by", "How to group the rows.", enum=list(GROUPS))],
        filters=True,  # not a list, but filtered: the FilterSet's parameters
    )
    def get(self, request) -> Response:
        filters = _split_filters(request.query_params)
        group_by = (request.query_params.get("group_by") or "").strip() or None
        if group_by is not None and group_by not in GROUPS:
            raise ValidationError({"group_by": [f"“{group_by}” is not a grouping: use one of {', '.join(GROUPS)}."]})
        filters_key = ":".join(str(getattr(filters, name) or "") for name in FILTER_NAMES)
        run = latest_successful_run()  # read once: the figures and their as-of time are of the same run
        # The roll-ups of one run change only when a month is closed or reopened or a settlement made or
        # reversed (the true-up's states): computed once per run, ledger version and query.
        results = run_cached(
            run,
            f"api-summary:{ledger_version()}:{group_by or ''}:{filters_key}",
            lambda: (
                split_summary_by_side(filters, with_true_up_states=True)
                if group_by == "side"
                else split_summary(group_by, filters, with_true_up_states=True)
            ),
        )
        data = {
            "group_by": group_by,
            "as_of": run.finished_at if run else None,
            "results": [_summary_row(result) for result in results],
        }
        return Response(SplitSummarySerializer(data).data)


# --- recomputes ------------------------------------------------------------------------------------


class QueueUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The task queue is unavailable: try again in a minute."
    default_code = "queue_unavailable"


@extend_schema_view(
    list=extend_schema(summary="Recent recomputes", description="The latest runs of the split, newest first."),
    retrieve=extend_schema(
        summary="A recompute's state",
        parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The run's id.")],
        description="`queued`, `running`, `succeeded` (its `finished_at` is the as-of time of the split), "
        "`failed` (with `error`), `interrupted` (its worker died; `error` says whether it was retried) or "
        "`skipped` (`recompute_split --skip-if-running` found another run doing the work).",
    ),
    create=extend_schema(
        summary="Queue a recompute (finance)",
        description="Queues a recompute of the whole split and answers at once with the run; poll its `url`. "
        "If a run is already queued, the request joins it and that run is returned: however many requests "
        "arrive while a recompute runs, exactly one run follows it, and it includes everything saved before "
        "it starts.",
        request=None,
        responses={202: SplitRunSerializer},
    ),
)
@extend_schema(tags=["split"])
class RecomputeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SplitRunSerializer
    queryset = SplitRun.objects.select_related("requested_by").order_by("-queued_at")
    lookup_value_regex = r"[0-9a-fA-F-]{32,36}"
    filter_backends: list = []
    permission_classes = [PolicyPermission]
    policy_actions = {"list": "split.view", "retrieve": "split.view", "create": "split.recompute"}
    schema_errors_extra = {"create": ("503",)}

    def create(self, request, *args, **kwargs) -> Response:
        try:
            run = split_recompute_request(by=request.user, trigger="api")
        except SplitRecomputeError as error:
            raise QueueUnavailable(str(error)) from error
        data = self.get_serializer(run).data
        # str(): the field gives a Hyperlink (a str subclass), which WSGI servers refuse in a header.
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": str(data["url"])})


# --- settlements -----------------------------------------------------------------------------------


class SettlementFilterSet(django_filters.FilterSet):
    status = ChoiceValueFilter(choices=SettlementStatus.choices, label="active or reversed")
    reference = django_filters.CharFilter(lookup_expr="iexact", label="The ERP reference")
    month = MonthFilter(method="filter_month", label="A month the settlement covers (YYYY-MM)")

    class Meta:
        model = Settlement
        form = FilterForm
        fields = ["status", "reference", "month"]

    def filter_month(self, queryset, name, value):
        return queryset.filter(first_month__lte=value, last_month__gte=value)


@extend_schema_view(
    list=extend_schema(
        summary="True-up settlements",
        description="Every settlement, newest months first (finance and executives). Money as decimal strings; "
        "`amount` positive: marketing pays IT.",
    ),
    retrieve=extend_schema(
        summary="A settlement with its lines",
        description="The settlement and its per-initiative lines (the frozen true-up summed over its months).",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        responses=SettlementDetailSerializer,
    ),
    create=extend_schema(
        summary="Settle closed months (finance)",
        description='Settles the true-up of closed months: `months` as a list (`["2026-10", "2026-11"]`) or '
        "`first_month` and `last_month`, and the ERP `reference` (required, unique among active settlements). "
        "Every month must be locked and its split closed, and in no other active settlement; the amount and "
        "lines come from the months' frozen split rows. A 400 names each month that cannot be settled.",
        request=SettlementCreateSerializer,
        responses={201: SettlementDetailSerializer},
    ),
)
@extend_schema(tags=["settlements"])
class SettlementViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = SettlementSerializer
    filter_backends = [FilterBackend]
    filterset_class = SettlementFilterSet
    permission_classes = [PolicyPermission]
    policy_actions = {
        "list": "settlements.view",
        "retrieve": "settlements.view",
        "create": "settlements.manage",
        "reverse": "settlements.manage",
    }

    def get_queryset(self):
        queryset = settlements()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(Prefetch("lines", SettlementLine.objects.order_by("initiative_code")))
        return queryset

    def get_serializer_class(self):
        return SettlementDetailSerializer if self.action == "retrieve" else SettlementSerializer

    def create(self, request, *args, **kwargs) -> Response:
        values = SettlementCreateSerializer(data=request.data)
        values.is_valid(raise_exception=True)
        settlement = settlement_create(**values.validated_data, by=request.user)
        data = SettlementDetailSerializer(
            self.get_queryset().get(pk=settlement.pk), context=self.get_serializer_context()
        ).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": str(data["url"])})

    @extend_schema(
        summary="Reverse a settlement (finance)",
        description="Marks the settlement reversed with who, when and the reason; its months can then be settled "
        "again (and unlocked). Nothing else changes. A reversed settlement cannot be reversed again.",
        request=SettlementReverseSerializer,
        responses={200: SettlementDetailSerializer},
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
    )
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk: str) -> Response:
        settlement = self.get_object()
        values = SettlementReverseSerializer(data=request.data)
        values.is_valid(raise_exception=True)
        settlement = settlement_reverse(settlement=settlement, by=request.user, reason=values.validated_data["reason"])
        settlement = settlements().prefetch_related("lines").get(pk=settlement.pk)
        return Response(SettlementDetailSerializer(settlement, context=self.get_serializer_context()).data)
