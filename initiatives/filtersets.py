"""One FilterSet per model (NetBox style): the HTML list and the API filter initiatives the same way."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from portfolio import fiscal, policy
from portfolio.filters import ChoiceValueFilter

from .choices import Health, Lane, Side, Status
from .models import Initiative
from .selectors import awaiting_sign_off_q, executives_any_side


def fiscal_year_choices() -> list[tuple[str, str]]:
    """Three fiscal years back and two ahead of the current one, newest first."""
    current = fiscal.fiscal_year(timezone.localdate())
    return [(str(year), fiscal.fiscal_year_label(year)) for year in range(current + 2, current - 4, -1)]


def _sponsor_label(user) -> str:
    name = user.get_full_name() or user.get_username()
    side = policy.side(user)
    return f"{name} ({'IT' if side == 'it' else side.capitalize()})" if side else name


def _plain_fiscal_year(data):
    """`fiscal_year=FY2027` (the export's and the split API's spelling) read as `2027`, the list's own."""
    value = data.get("fiscal_year") if data is not None else None
    if not isinstance(value, str) or not value.strip().upper().startswith("FY"):
        return data
    try:
        year = fiscal.parse_fiscal_year(value)
    except ValueError:
        return data  # the filter says what is wrong with it
    data = data.copy()
    data["fiscal_year"] = str(year)
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
    mine = django_filters.ChoiceFilter(
        choices=(("owned", "I own"), ("sponsored", "I sponsor"), ("awaiting", "Awaiting my approval")),
        method="filter_mine",
        label="Mine",
        empty_label="Everyone's",
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
        fields = ["q", "lane", "status", "health", "side", "sponsor", "fiscal_year", "mine"]

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

    def filter_mine(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            return queryset.none()
        if value == "owned":
            return queryset.filter(owner=user)
        if value == "sponsored":
            return queryset.filter(Q(marketing_sponsor=user) | Q(it_sponsor=user))
        return queryset.filter(awaiting_sign_off_q(user))
