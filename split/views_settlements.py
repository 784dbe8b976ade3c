"""The settlement pages under /finance/settlements/ (PRODUCT.md §3 "True-up settlement").

Finance settles closed months and reverses settlements; executives read the list and the detail.
Thin: the policy decides who, `split.settlements` decides what, the forms read what was typed.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from budgets.forms import add_service_errors
from portfolio.pagination import web_page_number
from portfolio.policy import can
from split.forms import SettlementForm, SettlementReverseForm
from split.models import SettlementStatus
from split.settlements import (
    settlement_create,
    settlement_direction,
    settlement_months_text,
    settlement_reverse,
    settlements,
    true_up_states,
)

PAGE_SIZE = 50
STATE_CARDS = (
    ("settled", "Settled", "Closed months an active settlement holds."),
    ("outstanding", "Outstanding", "Closed months not settled yet."),
    ("accruing", "Accruing", "Open months: these still move."),
    ("total", "True-up, all months", "Settled + outstanding + accruing."),
)


def _require(request: HttpRequest, action: str) -> None:
    if not can(request.user, action):
        raise PermissionDenied


def _state_cards() -> list[dict]:
    """The true-up's three states and their total, each with who owes whom."""
    states = true_up_states()
    return [
        {
            "label": label,
            "help": help_text,
            "amount_abs": abs(states[key]),
            "direction": _owes(states[key], settled=key == "settled"),
        }
        for key, label, help_text in STATE_CARDS
    ]


def _owes(amount, *, settled: bool = False) -> str:
    """Who owes whom; for the settled state, who paid whom (the settlements booked it)."""
    verb = "paid" if settled else "owes"
    if amount > 0:
        return f"Marketing {verb} IT"
    if amount < 0:
        return f"IT {verb} marketing"
    return "Square"


def _describe(settlement) -> None:
    settlement.months_text = settlement_months_text(settlement)
    settlement.direction = settlement_direction(settlement.amount)
    settlement.amount_abs = abs(settlement.amount)
    settlement.is_active = settlement.status == SettlementStatus.ACTIVE


@require_GET
def settlement_list(request: HttpRequest) -> HttpResponse:
    """/finance/settlements/: every settlement (months, amount and direction, reference, who/when, status)."""
    _require(request, "settlements.view")
    paginator = Paginator(settlements().annotate(line_count=Count("lines")), PAGE_SIZE)
    page = paginator.get_page(web_page_number(request, last=paginator.num_pages))
    for settlement in page.object_list:
        _describe(settlement)
    context = {
        "tab": "settlements",
        "page": page,
        "state_cards": _state_cards(),
        "may_settle": can(request.user, "settlements.manage"),
    }
    return render(request, "split/settlement_list.html", context)


@require_http_methods(["GET", "POST"])
def settlement_new(request: HttpRequest) -> HttpResponse:
    """/finance/settlements/new/: settle a whole fiscal quarter or a range of closed, unsettled months."""
    _require(request, "settlements.manage")
    form = SettlementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            settlement = settlement_create(
                months=form.months,
                reference=form.cleaned_data["reference"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except ValidationError as error:
            if hasattr(error, "error_dict") and "months" in error.error_dict:
                form.add_error(form.cleaned_data["months_field"], error.error_dict.pop("months"))
            add_service_errors(form, error)
        else:
            _describe(settlement)
            messages.success(
                request,
                f"Settled {settlement.months_text} in {settlement.reference}: "
                f"{settlement.direction.lower()} {settlement.amount_abs:,.2f}.",
            )
            return redirect("settlements:detail", pk=settlement.pk)
    context = {"tab": "settlements", "form": form, "state_cards": _state_cards()}
    return render(request, "split/settlement_form.html", context, status=400 if form.errors else 200)


@require_GET
def settlement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """/finance/settlements/<id>/: a settlement with its per-initiative lines, and (finance) the reverse form."""
    _require(request, "settlements.view")
    settlement = get_object_or_404(settlements(), pk=pk)
    _describe(settlement)
    lines = list(settlement.lines.order_by("initiative_code"))
    for line in lines:
        line.direction = settlement_direction(line.true_up)
    context = {
        "tab": "settlements",
        "settlement": settlement,
        "lines": lines,
        "reverse_form": SettlementReverseForm(),
        "may_settle": can(request.user, "settlements.manage"),
    }
    return render(request, "split/settlement_detail.html", context)


@require_POST
def settlement_reverse_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Reverse a settlement with a reason; its months can then be settled again."""
    _require(request, "settlements.manage")
    settlement = get_object_or_404(settlements(), pk=pk)
    form = SettlementReverseForm(request.POST)
    if form.is_valid():
        try:
            settlement = settlement_reverse(settlement=settlement, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"{settlement.reference} is reversed: {settlement_months_text(settlement)} can be settled again.",
            )
            return redirect("settlements:detail", pk=settlement.pk)
    _describe(settlement)
    lines = list(settlement.lines.order_by("initiative_code"))
    for line in lines:
        line.direction = settlement_direction(line.true_up)
    context = {"tab": "settlements", "settlement": settlement, "lines": lines, "reverse_form": form, "may_settle": True}
    return render(request, "split/settlement_detail.html", context, status=400)
