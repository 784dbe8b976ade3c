"""The finance endpoints: budget lines, expenses, FX rates, period locks, the split, recomputes.

Thin, like the finance pages: querysets scoped by `portfolio.policy` (budgets and
actuals of initiatives whose finances you may see; others are 404), permissions
from the policy, filters from the one FilterSet per model, and every write from
`budgets.services` — the same lock checks, FX conversion and duplicate checks as
the web forms and the importers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from budgets.filtersets import ExpenseFilterSet, FxRateFilterSet
from budgets.models import BudgetLine, Expense, FxRate, PeriodLock
from budgets.services.actuals import expense_create, expense_delete, expense_update
from budgets.services.budgets import budget_line_delete, budget_line_set, budget_line_update
from budgets.services.fx import fx_rate_delete, fx_rate_set
from budgets.services.locks import period_lock_create, period_unlock
from initiatives.rules import visible_finances
from portfolio.api import FilterBackend, KeysetPagination, PolicyPermission, service_error_detail

from .filtersets import BudgetLineFilterSet, PeriodLockFilterSet
from .serializers import (
    BULK_MAX,
    BudgetLineInputSerializer,
    BudgetLineSerializer,
    BudgetLineUpdateSerializer,
    ExpenseInputSerializer,
    ExpenseSerializer,
    ExpenseUpdateSerializer,
    FxRateInputSerializer,
    FxRateSerializer,
    FxRateUpdateSerializer,
    PeriodLockInputSerializer,
    PeriodLockSerializer,
    UnlockSerializer,
)

ID_PARAMETER = OpenApiParameter("id", int, OpenApiParameter.PATH)


def _call(service: Callable[..., Any], **kwargs) -> Any:
    """Run a service; its ValidationError becomes a 400 with field messages."""
    try:
        return service(**kwargs)
    except DjangoValidationError as error:
        raise ValidationError(service_error_detail(error)) from error


def _valid(serializer_class, request, **kwargs) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class _FinanceViewSet(viewsets.GenericViewSet):
    """What the finance endpoints share: the policy permission and page-number lists."""

    permission_classes = [PolicyPermission]
    filter_backends = [FilterBackend, OrderingFilter]


WRITE_ACTIONS = ("create", "update", "partial_update", "destroy")


class _FinanceRecordViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    _FinanceViewSet,
):
    # A finance record anyone may read within their scope and only `manage_action` may write.
    # (A comment, not a docstring: drf-spectacular would print a docstring on every operation.)

    manage_action: str = ""
    read_action: str | None = None  # None: reading is scoped by the queryset alone

    @property
    def policy_actions(self) -> dict[str, str | None]:
        return {"list": self.read_action, "retrieve": self.read_action} | dict.fromkeys(
            WRITE_ACTIONS, self.manage_action
        )


def _change_schemas(
    *,
    noun: str,
    response,
    update_request,
    update_description: str = "",
    destroy_description: str = "",
) -> dict[str, Any]:
    """The OpenAPI texts of reading, changing and deleting one finance record by id."""
    return {
        "retrieve": extend_schema(summary=f"Read {noun}", parameters=[ID_PARAMETER]),
        "update": extend_schema(
            summary=f"Change {noun} (finance)",
            description=update_description,
            request=update_request,
            responses={200: response},
            parameters=[ID_PARAMETER],
        ),
        "partial_update": extend_schema(
            summary=f"Change some fields of {noun} (finance)",
            request=update_request(partial=True),
            responses={200: response},
            parameters=[ID_PARAMETER],
        ),
        "destroy": extend_schema(
            summary=f"Delete {noun} (finance)", description=destroy_description, parameters=[ID_PARAMETER]
        ),
    }


# --- budget lines ------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List budget lines",
        description="Planned spend of the initiatives whose finances you may see (a PM: their own).",
    ),
    create=extend_schema(
        summary="Set a budget line (finance)",
        description="Sets the planned amount of (initiative, month, category): creates the line (201) or changes "
        "the existing one (200). Refused in a locked month, and in a month outside the initiative's dates (from "
        "the month of its start_date to that of its end_date): a 400 under `month` naming the month.",
        request=BudgetLineInputSerializer,
        responses={200: BudgetLineSerializer, 201: BudgetLineSerializer},
    ),
    **_change_schemas(
        noun="a budget line",
        response=BudgetLineSerializer,
        update_request=BudgetLineUpdateSerializer,
        update_description="Both the line's current month and its new month must be unlocked, and the new month "
        "must be one the initiative runs (a 400 under `month` naming it otherwise).",
    ),
)
@extend_schema(tags=["budgets"])
class BudgetLineViewSet(_FinanceRecordViewSet):
    serializer_class = BudgetLineSerializer
    filterset_class = BudgetLineFilterSet
    ordering_fields = ["month", "amount", "id"]
    ordering = ["initiative_id", "month", "category"]
    manage_action = "budgets.manage"

    def get_queryset(self):
        lines = BudgetLine.objects.select_related("initiative").only(
            "id", "month", "category", "amount", "initiative__code"
        )
        return visible_finances(self.request.user, lines)

    def create(self, request, *args, **kwargs) -> Response:
        values = _valid(BudgetLineInputSerializer, request, context=self.get_serializer_context())
        existed = BudgetLine.objects.filter(
            initiative=values["initiative"], month=values["month"], category=values["category"]
        ).exists()
        line = _call(budget_line_set, by=request.user, **values)
        return Response(
            BudgetLineSerializer(line).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        )

    def update(self, request, *args, partial: bool = False, **kwargs) -> Response:
        line = self.get_object()
        values = _valid(BudgetLineUpdateSerializer, request, partial=partial)
        line = _call(budget_line_update, line=line, data=values, by=request.user)
        return Response(BudgetLineSerializer(line).data)

    def perform_destroy(self, instance: BudgetLine) -> None:
        _call(budget_line_delete, line=instance, by=self.request.user)


# --- expenses ----------------------------------------------------------------------------------


class ExpensePagination(KeysetPagination):
    page_size = 100


EXPENSE_CREATE_REQUEST = PolymorphicProxySerializer(
    component_name="ExpenseCreate",
    serializers=[ExpenseInputSerializer, ExpenseInputSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)
EXPENSE_CREATE_RESPONSE = PolymorphicProxySerializer(
    component_name="ExpenseCreated",
    serializers=[ExpenseSerializer, ExpenseSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)


@extend_schema_view(
    list=extend_schema(
        summary="List expenses",
        description="Actuals of the initiatives whose finances you may see (a PM: their own), newest first. "
        "Cursor-paginated: follow `next`.",
    ),
    create=extend_schema(
        summary="Record expenses (finance)",
        description="One expense (an object) or many (a list, at most "
        f"{BULK_MAX}). A list is all or nothing: if any expense is refused, none is saved and the 400 body is a "
        "list with each expense's field messages ({} for the good ones). Each expense is converted at the FX rate "
        "of its currency and month; a month without a rate, a locked month, or a `source` + `external_ref` pair "
        "already recorded is refused.",
        request=EXPENSE_CREATE_REQUEST,
        responses={201: EXPENSE_CREATE_RESPONSE},
    ),
    **_change_schemas(
        noun="an expense",
        response=ExpenseSerializer,
        update_request=ExpenseUpdateSerializer,
        update_description="Both its current month and its new month must be unlocked; it is converted again.",
    ),
)
@extend_schema(tags=["expenses"])
class ExpenseViewSet(_FinanceRecordViewSet):
    serializer_class = ExpenseSerializer
    filter_backends = [FilterBackend]  # the cursor fixes the order
    filterset_class = ExpenseFilterSet
    pagination_class = ExpensePagination
    keyset_ordering = ("-incurred_on", "-id")
    schema_list_errors = ("create",)  # a refused list answers a list of field messages
    manage_action = "expenses.manage"

    def get_queryset(self):
        return visible_finances(self.request.user, Expense.objects.select_related("initiative"))

    def create(self, request, *args, **kwargs) -> Response:
        context = self.get_serializer_context()
        if not isinstance(request.data, list):
            values = _valid(ExpenseInputSerializer, request, context=context)
            expense = _call(expense_create, by=request.user, **values)
            return Response(ExpenseSerializer(expense).data, status=status.HTTP_201_CREATED)
        items = ExpenseInputSerializer(data=request.data, many=True, max_length=BULK_MAX, context=context)
        items.is_valid(raise_exception=True)
        expenses = self._create_all_or_nothing(items.validated_data)
        return Response(ExpenseSerializer(expenses, many=True).data, status=status.HTTP_201_CREATED)

    def _create_all_or_nothing(self, items: list[dict]) -> list[Expense]:
        """Every expense through `expense_create`, in one transaction; every refusal is reported."""
        expenses: list[Expense] = []
        errors: list[dict] = []
        with transaction.atomic():
            for values in items:
                try:
                    with transaction.atomic():  # a savepoint: the next expenses are still checked
                        expenses.append(expense_create(by=self.request.user, **values))
                    errors.append({})
                except DjangoValidationError as error:
                    errors.append(service_error_detail(error))
            if any(errors):
                transaction.set_rollback(True)
        if any(errors):
            raise ValidationError(errors)
        return expenses

    def update(self, request, *args, partial: bool = False, **kwargs) -> Response:
        expense = self.get_object()
        values = _valid(ExpenseUpdateSerializer, request, partial=partial, context=self.get_serializer_context())
        expense = _call(expense_update, expense=expense, data=values, by=request.user)
        return Response(ExpenseSerializer(expense).data)

    def perform_destroy(self, instance: Expense) -> None:
        _call(expense_delete, expense=instance, by=self.request.user)


# --- FX rates ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List FX rates (executives and finance read; finance writes)"),
    create=extend_schema(
        summary="Set an FX rate (finance)",
        description="Creates the rate of a currency for a month (201) or changes it (200); the expenses of that "
        "currency and month are converted again in the same transaction. Refused in a locked month.",
        request=FxRateInputSerializer,
        responses={200: FxRateSerializer, 201: FxRateSerializer},
    ),
    **_change_schemas(
        noun="an FX rate",
        response=FxRateSerializer,
        update_request=FxRateUpdateSerializer,
        destroy_description="Refused while expenses of that currency and month are converted with it, "
        "or the month is locked.",
    ),
)
@extend_schema(tags=["fx-rates"])
class FxRateViewSet(_FinanceRecordViewSet):
    serializer_class = FxRateSerializer
    filterset_class = FxRateFilterSet
    ordering_fields = ["month", "currency"]
    ordering = ["-month", "currency"]
    queryset = FxRate.objects.all()
    manage_action = "fx.manage"
    read_action = "fx.view"

    def create(self, request, *args, **kwargs) -> Response:
        values = _valid(FxRateInputSerializer, request)
        rate, created, _ = _call(fx_rate_set, by=request.user, **values)
        return Response(FxRateSerializer(rate).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def update(self, request, *args, partial: bool = False, **kwargs) -> Response:
        rate = self.get_object()
        values = _valid(FxRateUpdateSerializer, request, partial=partial)
        if "rate" in values:
            rate, _, _ = _call(
                fx_rate_set, currency=rate.currency, month=rate.month, rate=values["rate"], by=request.user
            )
        return Response(FxRateSerializer(rate).data)

    def perform_destroy(self, instance: FxRate) -> None:
        _call(fx_rate_delete, fx_rate=instance, by=self.request.user)


# --- period locks -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List locked months (executives and finance read; finance locks)"),
    retrieve=extend_schema(summary="Read a locked month", parameters=[ID_PARAMETER]),
    create=extend_schema(
        summary="Lock a month (finance)",
        description="Nothing dated in a locked month can be created, changed or deleted until it is unlocked.",
        request=PeriodLockInputSerializer,
        responses={201: PeriodLockSerializer},
    ),
)
@extend_schema(tags=["locks"])
class PeriodLockViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, _FinanceViewSet):
    serializer_class = PeriodLockSerializer
    filterset_class = PeriodLockFilterSet
    ordering_fields = ["month"]
    ordering = ["-month"]
    queryset = PeriodLock.objects.select_related("locked_by")
    # Executives read the locks (§1); finance alone locks and unlocks.
    policy_actions = dict.fromkeys(("list", "retrieve"), "locks.view") | dict.fromkeys(
        ("create", "unlock"), "locks.manage"
    )

    def create(self, request, *args, **kwargs) -> Response:
        values = _valid(PeriodLockInputSerializer, request)
        lock = _call(period_lock_create, by=request.user, **values)
        return Response(PeriodLockSerializer(lock).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Unlock a month (finance)",
        description="Reopens the month; the reason is kept in the lock's history with who and when.",
        request=UnlockSerializer,
        responses={204: None},
        parameters=[ID_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk: str) -> Response:
        lock = self.get_object()
        values = _valid(UnlockSerializer, request)
        _call(period_unlock, lock=lock, reason=values["reason"], by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
