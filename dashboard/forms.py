"""The dashboard's filter form (PRODUCT.md §1): the split export's filters plus the owner's side.

Shared by the joint dashboard (`dashboard.views`) and who funds what (`dashboard.views_funding`).
"""

from __future__ import annotations

from dataclasses import asdict

from django import forms
from django.utils import timezone

from dashboard.filters import DashboardFilters
from initiatives.choices import Lane, Side, Status
from initiatives.filtersets import fiscal_year_choices
from portfolio import fiscal
from portfolio.text import choice_value

QUARTER_CHOICES = [("", "Whole year"), *((str(q), f"Q{q}") for q in range(1, 5))]
# What each filter shows when the link's value cannot be used (the notice says so in these words).
FALLBACK_TEXT = {
    "quarter": "the whole year",
    "lane": "both lanes",
    "side": "both sides",
    "status": "any status",
}
WHAT_IT_SHOULD_BE = {
    "quarter": "a quarter (Q1 to Q4)",
    "lane": "a lane (fast_lane or core_stack)",
    "side": "an owner's side (marketing or it)",
    "status": "a status",
}
SHOWN_VALUE_LENGTH = 30


def _fiscal_year_param(value: str | None, current_year: int) -> str:
    """`FY2026` or `2026` → "2026" (as the export accepts both); blank → the current year.

    Anything else is passed on for the field to refuse (and the page to explain).
    """
    if not value:
        return str(current_year)
    try:
        return str(fiscal.parse_fiscal_year(value))
    except ValueError:
        return value


def _shown(value: str) -> str:
    """A value from the URL as the notice quotes it: trimmed, and cut short if long."""
    value = value.strip()
    return value if len(value) <= SHOWN_VALUE_LENGTH else f"{value[: SHOWN_VALUE_LENGTH - 1]}…"


class DashboardFilterForm(forms.Form):
    """The dashboard's filters, as GET parameters with the split export's names plus `side`.

    A value the dashboard cannot use (a mistyped link, a year outside the offered ones)
    never breaks the page: that filter falls back to its default, `fallback_notices()`
    says so in plain words, and `displayed()` is the form showing what the page shows.
    """

    fiscal_year = forms.TypedChoiceField(label="Fiscal year", coerce=int, choices=())
    quarter = forms.TypedChoiceField(label="Quarter", coerce=int, choices=QUARTER_CHOICES, required=False)
    lane = forms.ChoiceField(label="Lane", choices=[("", "Both lanes"), *Lane.choices], required=False)
    side = forms.ChoiceField(label="Owner's side", choices=[("", "Both sides"), *Side.choices], required=False)
    status = forms.ChoiceField(label="Status", choices=[("", "Any status"), *Status.choices], required=False)

    def __init__(self, data=None, **kwargs):
        self.current_year = fiscal.fiscal_year(timezone.localdate())
        self.given = data if data is not None else {}
        if data is not None:
            data = data.copy()
            data["fiscal_year"] = _fiscal_year_param(data.get("fiscal_year"), self.current_year)
            data["quarter"] = (data.get("quarter") or "").strip().upper().removeprefix("Q")
            for name, choices in (("lane", Lane), ("status", Status)):
                # A value or a label in any case, as the split filters and the importers read them.
                given = data.get(name)
                if given and (value := choice_value(choices, given)) is not None:
                    data[name] = value
        super().__init__(data, **kwargs)
        self.fields["fiscal_year"].choices = fiscal_year_choices()
        self.fields["fiscal_year"].initial = self.current_year
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"

    def filters(self) -> DashboardFilters:
        """The usable filters; a value that cannot be used falls back to its default."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return DashboardFilters(
            fiscal_year=cleaned.get("fiscal_year") or self.current_year,
            quarter=cleaned.get("quarter") or None,
            lane=cleaned.get("lane") or None,
            side=cleaned.get("side") or None,
            status=cleaned.get("status") or None,
        )

    @property
    def fallen_back(self) -> list[str]:
        """The names of the filters whose value in the link could not be used."""
        return [name for name in self.fields if name in self.errors] if self.is_bound else []

    def fallback_notices(self) -> list[str]:
        """One plain sentence per filter whose value could not be used: what was asked, what is shown instead."""
        notices = []
        for name in self.fallen_back:
            given = _shown(str(self.given.get(name, "")))
            if name == "fiscal_year":
                notices.append(self._fiscal_year_notice(given))
            else:
                instead = FALLBACK_TEXT[name]
                notices.append(f"“{given}” is not {WHAT_IT_SHOULD_BE[name]}, so the dashboard shows {instead}.")
        return notices

    def _fiscal_year_notice(self, given: str) -> str:
        years = [int(value) for value, _ in self.fields["fiscal_year"].choices]
        offered = f"{fiscal.fiscal_year_label(min(years))} to {fiscal.fiscal_year_label(max(years))}"
        current = fiscal.fiscal_year_label(self.current_year)
        try:
            asked = fiscal.fiscal_year_label(fiscal.parse_fiscal_year(given))
        except ValueError:
            problem = f"“{given}” is not a fiscal year (write FY2026 or 2026; the dashboard offers {offered})"
        else:
            problem = f"{asked} is not one of the fiscal years the dashboard offers ({offered})"
        return f"{problem}, so it shows {current}, the current fiscal year."

    def displayed(self, filters: DashboardFilters) -> DashboardFilterForm:
        """This form if every value was usable; otherwise a form showing the filters the page actually shows."""
        if not self.fallen_back:
            return self
        values = asdict(filters)  # the form's fields are the filters' names
        displayed = DashboardFilterForm({name: "" if value is None else str(value) for name, value in values.items()})
        for name in self.fallen_back:
            attrs = displayed.fields[name].widget.attrs
            attrs.update({"class": f"{attrs['class']} filter-fallback", "aria-describedby": "filter-fallbacks"})
        return displayed
