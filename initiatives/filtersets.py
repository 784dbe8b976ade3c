"""One FilterSet per model (NetBox style): the HTML list and the API filter initiatives the same way."""

from __future__ import annotations

import contextlib
import datetime as dt

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from portfolio import fiscal, policy
from portfolio.filters import ChoiceValueFilter

from .choices import Health, Lane, Side, Status
from .models import Initiative
from .platforms import PlatformRisk, digital_island_q, platform_risk_q
from .selectors import awaiting_sign_off_q, executives_any_side


def fiscal_year_choices() -> list[tuple[str, str]]:
    """Three fiscal years back and two ahead of the current one, newest first."""
    current = fiscal.fiscal_year(timezone.localdate())
    return [(str(year), fiscal.fiscal_year_label(year)) for year in range(current + 2, current - 4, -1)]


QUARTER_CHOICES = [(str(quarter), f"Q{quarter}") for quarter in range(1, 5)]


def quarter_bounds(fiscal_year: int, quarter: int) -> tuple[dt.date, dt.date]:
    """(first day, last day) of a fiscal quarter: an initiative is active in it when its dates overlap them."""
    months = fiscal.fiscal_quarter_months(fiscal_year, quarter)
    return months[0], fiscal.add_months(months[-1], 1) - dt.timedelta(days=1)


def _sponsor_label(user) -> str:
    name = user.get_full_name() or user.get_username()
    side = policy.side(user)
    return f"{name} ({'IT' if side == 'it' else side.capitalize()})" if side else name


def _plain_fiscal_year(data):
    """`fiscal_year=FY2027` (the export's and the split API's spelling) read as `2027`, the list's own;
    `quarter=Q3` (the export's spelling) as `3`."""
    if data is None:
        return data
    changes = {}
    value = data.get("fiscal_year")
    if isinstance(value, str) and value.strip().upper().startswith("FY"):
        with contextlib.suppress(ValueError):  # else the filter says what is wrong with it
            changes["fiscal_year"] = str(fiscal.parse_fiscal_year(value))
    quarter = data.get("quarter")
    if isinstance(quarter, str) and quarter.strip().upper().startswith("Q"):
        changes["quarter"] = quarter.strip().upper().removeprefix("Q")
    if not changes:
        return data
    data = data.copy()
    for name, changed in changes.items():
        data[name] = changed
    return data


class SponsorChoiceFilter(django_filters.ModelChoiceFilter):
    """Executives of either side, labelled with their side."""

    @property
    def field(self):
        field = super().field
        field.label_from_instance = _sponsor_label
        return field


class InitiativeOrderingFilter(django_filters.OrderingFilter):
    """Column sorting with `id` as the tie-breaker, so pages never overlap or skip rows."""

    def filter(self, qs, value):
        ordering = [self.get_ordering_value(param) for param in value or []]
        ordering = [o for o in ordering if o]
        if not ordering:
            return qs.order_by("-id")
        tie = "-id" if ordering[0].startswith("-") else "id"
        if ordering[-1].lstrip("-") != "id":
            ordering.append(tie)
        return qs.order_by(*ordering)


class InitiativeFilterSet(django_filters.FilterSet):
    """Search and filters of the initiative list (and of `/api/initiatives/`)."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    lane = ChoiceValueFilter(choices=Lane.choices, empty_label="Any lane")
    status = ChoiceValueFilter(choices=Status.choices, empty_label="Any status")
    health = ChoiceValueFilter(choices=Health.choices, empty_label="Any health")
    side = django_filters.ChoiceFilter(
        choices=Side.choices, method="filter_side", label="Owner's side", empty_label="Either side"
    )
    sponsor = SponsorChoiceFilter(
        queryset=lambda request: executives_any_side(),
        method="filter_sponsor",
        label="Sponsor",
        empty_label="Any sponsor",
    )
    fiscal_year = django_filters.ChoiceFilter(
        choices=fiscal_year_choices, method="filter_fiscal_year", label="Active in", empty_label="Any year"
    )
    quarter = django_filters.ChoiceFilter(
        choices=QUARTER_CHOICES, method="filter_quarter", label="Quarter", empty_label="Whole year"
    )
    mine = django_filters.ChoiceFilter(
        choices=(("owned", "I own"), ("sponsored", "I sponsor"), ("awaiting", "Awaiting my approval")),
        method="filter_mine",
        label="Mine",
        empty_label="Everyone's",
    )
    # Fast-lane work and its platforms (initiatives/platforms.py): the dashboard's cards link here.
    platform_risk = django_filters.ChoiceFilter(
        choices=(("1", "Any risky platform"), *PlatformRisk.choices),
        method="filter_platform_risk",
        label="Platform risk",
        empty_label="Not filtered",
    )
    digital_island = django_filters.ChoiceFilter(
        choices=(("1", "Digital islands only"),),
        method="filter_digital_island",
        label="Digital islands",
        empty_label="Not filtered",
    )

    sort = InitiativeOrderingFilter(
        fields=(
            ("id", "code"),
            ("title", "title"),
            ("lane", "lane"),
            ("status", "status"),
            ("health", "health"),
            ("owner__last_name", "owner"),
            ("start_date", "start"),
            ("end_date", "end"),
            ("marketing_share_pct", "share"),
        ),
        label="Sort by",
    )

    class Meta:
        model = Initiative
        fields = ["q", "lane", "status", "health", "side", "sponsor", "fiscal_year", "quarter", "mine"]

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(_plain_fiscal_year(data), *args, **kwargs)
        for name, form_field in self.form.fields.items():
            css = "form-select form-select-sm" if isinstance(form_field.widget, forms.Select) else "form-control"
            if name == "q":
                css = "form-control form-control-sm"
                form_field.widget.attrs["placeholder"] = "Code, title or owner"
                form_field.widget.attrs["type"] = "search"
            form_field.widget.attrs["class"] = css

    def filter_search(self, queryset, name, value):
        text = value.strip()[:100]
        if not text:
            return queryset
        if text.upper().startswith("INI-"):
            return queryset.filter(code__istartswith=text)
        # Owners are matched in the (small) user table first, so the initiative
        # scan needs no join: code or title matches, or the owner is one of them.
        people = Q()
        for word in text.split()[:3]:
            people |= Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(username__icontains=word)
        owners = get_user_model().objects.filter(people).values("pk")
        return queryset.filter(Q(code__icontains=text) | Q(title__icontains=text) | Q(owner__in=owners))

    def filter_side(self, queryset, name, value):
        return queryset.filter(owner__profile__side=value)

    def filter_sponsor(self, queryset, name, value):
        return queryset.filter(Q(marketing_sponsor=value) | Q(it_sponsor=value))

    def filter_fiscal_year(self, queryset, name, value):
        first, last = fiscal.fiscal_year_bounds(int(value))
        return queryset.filter(start_date__lte=last, end_date__gte=first)

    def filter_quarter(self, queryset, name, value):
        """Active in that fiscal quarter of the chosen fiscal year (the current one when none is chosen):
        its dates overlap the quarter's months, as `fiscal_year` asks of the year's."""
        year = self.form.cleaned_data.get("fiscal_year") or fiscal.fiscal_year(timezone.localdate())
        first, last = quarter_bounds(int(year), int(value))
        return queryset.filter(start_date__lte=last, end_date__gte=first)

    def filter_platform_risk(self, queryset, name, value):
        return queryset.filter(platform_risk_q(None if value == "1" else value))

    def filter_digital_island(self, queryset, name, value):
        return queryset.filter(digital_island_q())

    def filter_mine(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            return queryset.none()
        if value == "owned":
            return queryset.filter(owner=user)
        if value == "sponsored":
            return queryset.filter(Q(marketing_sponsor=user) | Q(it_sponsor=user))
        return queryset.filter(awaiting_sign_off_q(user))
