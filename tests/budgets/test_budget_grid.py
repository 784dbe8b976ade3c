"""The budget grid: spread helper to the cent, save, optimistic version check, locks, who may edit."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from budgets.models import BudgetLine
from budgets.services.budgets import (
    BudgetGridConflictError,
    budget_grid_amounts,
    budget_grid_save,
    budget_grid_version,
    budget_spread_annual,
)
from initiatives.models import Initiative
from portfolio.fiscal import fiscal_year_months
from tests.budgets.finance_helpers import grid_post, initiative_with_code
from tests.factories import BudgetLineFactory, ExpenseFactory, PeriodLockFactory, UserFactory

pytestmark = pytest.mark.django_db

MONTHS = fiscal_year_months(2026, start_month=1)
GRID_URL = "budgets:budget_grid"


def _spread(annual: str, *, locked=(), fixed=None, **dates):
    """The spread over an initiative running the whole of 2026 (FY2026 with the January fiscal year) unless `dates`."""
    dates = {"start_date": dt.date(2026, 1, 1), "end_date": dt.date(2026, 12, 31), **dates}
    initiative = Initiative(code="INI-0001", **dates)
    return budget_spread_annual(
        initiative=initiative, fiscal_year=2026, annual=Decimal(annual), locked=set(locked), fixed=fixed or {}
    )


def test_spread_adds_up_to_the_annual_amount_to_the_cent():
    spread = _spread("1000.00")
    assert sum(spread.values()) == Decimal("1000.00")
    assert list(spread.values()) == [Decimal("83.34")] * 4 + [Decimal("83.33")] * 8


def test_spread_keeps_locked_months_and_spreads_the_rest():
    locked = {MONTHS[0], MONTHS[1]}
    fixed = {MONTHS[0]: Decimal("100.00"), MONTHS[1]: Decimal("0.01")}
    spread = _spread("1000.00", locked=locked, fixed=fixed)
    assert set(spread) == set(MONTHS[2:])
    assert sum(spread.values()) + Decimal("100.01") == Decimal("1000.00")


def test_spread_less_than_locked_months_hold_is_refused():
    with pytest.raises(ValidationError, match=r"locked months already hold 500\.00"):
        _spread("100.00", locked={MONTHS[0]}, fixed={MONTHS[0]: Decimal("500")})


def test_save_adds_changes_and_removes_lines(finance):
    initiative = initiative_with_code("INI-0001")
    BudgetLineFactory(initiative=initiative, month=MONTHS[0], category="labor", amount=Decimal("10.00"))
    BudgetLineFactory(initiative=initiative, month=MONTHS[1], category="labor", amount=Decimal("20.00"))
    version = budget_grid_version(budget_grid_amounts(initiative=initiative, fiscal_year=2026))
    result = budget_grid_save(
        initiative=initiative,
        fiscal_year=2026,
        amounts={
            (MONTHS[0], "labor"): Decimal("15.00"),
            (MONTHS[1], "labor"): None,
            (MONTHS[2], "media"): Decimal("7.50"),
        },
        expected_version=version,
        by=finance,
    )
    assert (len(result.added), len(result.updated), len(result.removed)) == (1, 1, 1)
    assert budget_grid_amounts(initiative=initiative, fiscal_year=2026) == {
        (MONTHS[0], "labor"): Decimal("15.00"),
        (MONTHS[2], "media"): Decimal("7.50"),
    }
    by_finance = BudgetLine.history.filter(history_user=finance)
    assert sorted(by_finance.values_list("history_type", flat=True)) == ["+", "-", "~"]


def test_stale_version_is_refused_and_nothing_is_saved(finance):
    initiative = initiative_with_code("INI-0001")
    stale = budget_grid_version({})
    BudgetLineFactory(initiative=initiative, month=MONTHS[0], category="labor", amount=Decimal("10.00"))
    with pytest.raises(BudgetGridConflictError):
        budget_grid_save(
            initiative=initiative,
            fiscal_year=2026,
            amounts={(MONTHS[0], "labor"): Decimal("99.00"), (MONTHS[3], "media"): Decimal("1.00")},
            expected_version=stale,
            by=finance,
        )
    assert budget_grid_amounts(initiative=initiative, fiscal_year=2026) == {(MONTHS[0], "labor"): Decimal("10.00")}


# --- the page ----------------------------------------------------------------------------------


def test_grid_page_shows_rows_columns_and_totals(client, finance):
    initiative = initiative_with_code("INI-0001")
    BudgetLineFactory(initiative=initiative, month=MONTHS[0], category="labor", amount=Decimal("1000.00"))
    BudgetLineFactory(initiative=initiative, month=MONTHS[0], category="media", amount=Decimal("234.56"))
    BudgetLineFactory(initiative=initiative, month=MONTHS[1], category="labor", amount=Decimal("500.00"))
    client.force_login(finance)
    response = client.get(reverse(GRID_URL, args=["INI-0001", "FY2026"]))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [month["total"] for month in rows["months"][:3]] == [Decimal("1234.56"), Decimal("500.00"), Decimal(0)]
    assert rows["categories"][0]["total"] == Decimal("1500.00")  # labor over the year
    assert rows["grand_total"] == Decimal("1734.56")
    assert "1,734.56" in response.content.decode()


def test_two_finance_users_saving_the_same_grid_second_gets_a_conflict(client, finance):
    initiative = initiative_with_code("INI-0001")
    colleague = UserFactory(username="finance2", role="finance", side="")
    url = reverse(GRID_URL, args=["INI-0001", "FY2026"])
    first_form = grid_post(initiative, cell_202601_labor="100.00")
    second_form = grid_post(initiative, cell_202601_labor="200.00")  # opened at the same time

    client.force_login(finance)
    assert client.post(url, first_form).status_code == 302
    client.force_login(colleague)
    response = client.post(url, second_form)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Someone else saved this budget while you were editing it" in page
    assert "Your changes were not saved" in page
    assert BudgetLine.objects.get().amount == Decimal("100.00")  # the first save stands


def test_spread_button_fills_the_row_without_saving(client, finance):
    initiative = initiative_with_code("INI-0001")
    client.force_login(finance)
    data = grid_post(initiative, annual_software="1000.00", action="spread:software")
    response = client.post(reverse(GRID_URL, args=["INI-0001", "FY2026"]), data)
    assert response.status_code == 200
    form = response.context["form"]
    values = [Decimal(form[form.cell_name(month, "software")].value()) for month in MONTHS]
    assert sum(values) == Decimal("1000.00")
    assert BudgetLine.objects.count() == 0


def test_a_value_posted_to_a_locked_month_is_refused_naming_the_month(client, finance):
    """A page loaded before March was locked (or a forged post) sends a March cell: it once said "Nothing changed"."""
    initiative = initiative_with_code("INI-0001")
    PeriodLockFactory(month=MONTHS[2])
    client.force_login(finance)
    data = grid_post(initiative, cell_202603_labor="50.00", cell_202604_labor="60.00")
    response = client.post(reverse(GRID_URL, args=["INI-0001", "FY2026"]), data)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "March 2026 is locked: finance must unlock it before anything dated in it can change."
    ]
    page = response.content.decode()
    assert "March 2026 is locked" in page and "Nothing changed" not in page
    assert BudgetLine.objects.count() == 0  # all or nothing: April is not saved either


def test_a_locked_cell_posted_as_stored_or_not_posted_is_no_change(client, finance):
    initiative = initiative_with_code("INI-0001")
    BudgetLineFactory(initiative=initiative, month=MONTHS[2], category="labor", amount=Decimal("50.00"))
    PeriodLockFactory(month=MONTHS[2])
    client.force_login(finance)
    url = reverse(GRID_URL, args=["INI-0001", "FY2026"])
    as_stored = grid_post(initiative, cell_202603_labor="50", cell_202604_labor="60.00")
    assert client.post(url, as_stored).status_code == 302
    not_sent = grid_post(initiative, cell_202604_labor="70.00")
    del not_sent["cell_202603_labor"]
    assert client.post(url, not_sent).status_code == 302
    assert sorted(BudgetLine.objects.values_list("month", "amount")) == [
        (MONTHS[2], Decimal("50.00")),
        (MONTHS[3], Decimal("70.00")),
    ]


def test_clearing_a_locked_cell_is_refused_naming_the_month(client, finance):
    initiative = initiative_with_code("INI-0001")
    BudgetLineFactory(initiative=initiative, month=MONTHS[2], category="media", amount=Decimal("5.00"))
    PeriodLockFactory(month=MONTHS[2])
    client.force_login(finance)
    response = client.post(reverse(GRID_URL, args=["INI-0001", "FY2026"]), grid_post(initiative, cell_202603_media=""))
    assert response.status_code == 200
    assert "March 2026 is locked" in response.content.decode()
    assert BudgetLine.objects.get().amount == Decimal("5.00")


def test_a_huge_cell_value_is_refused_under_its_cell(client, finance):
    initiative = initiative_with_code("INI-0001")
    client.force_login(finance)
    data = grid_post(initiative, cell_202601_labor="9" * 1_000_000)
    response = client.post(reverse(GRID_URL, args=["INI-0001", "FY2026"]), data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"cell_202601_labor": ["That amount is too large."]}
    assert BudgetLine.objects.count() == 0


def test_invalid_cell_is_shown_under_the_cell(client, finance):
    initiative = initiative_with_code("INI-0001")
    client.force_login(finance)
    response = client.post(
        reverse(GRID_URL, args=["INI-0001", "FY2026"]), grid_post(initiative, cell_202601_labor="-5")
    )
    assert response.status_code == 200
    assert "A budget amount cannot be negative." in response.content.decode()
    assert BudgetLine.objects.count() == 0


def test_owner_pm_sees_the_grid_read_only_and_cannot_save(client, pm):
    initiative = initiative_with_code("INI-0001", owner=pm)
    client.force_login(pm)
    response = client.get(reverse(GRID_URL, args=["INI-0001", "FY2026"]))
    assert response.status_code == 200
    assert not response.context["can_edit"]
    assert all(field.field.disabled for field in response.context["form"] if field.name.startswith("cell_"))
    assert client.post(reverse(GRID_URL, args=["INI-0001", "FY2026"]), grid_post(initiative)).status_code == 403


def test_other_pm_may_not_see_the_grid(client, other_pm):
    initiative_with_code("INI-0001", status="submitted")
    client.force_login(other_pm)
    assert client.get(reverse(GRID_URL, args=["INI-0001", "FY2026"])).status_code == 403


def test_grid_page_runs_a_fixed_number_of_queries_whatever_the_lines(client, finance, django_assert_num_queries):
    initiative = initiative_with_code("INI-0001")
    BudgetLineFactory(initiative=initiative, month=MONTHS[0], category="labor", amount=Decimal("1.00"))
    ExpenseFactory(initiative=initiative, incurred_on=MONTHS[0])
    client.force_login(finance)
    with django_assert_num_queries(8):
        assert client.get(reverse(GRID_URL, args=["INI-0001", "FY2026"])).status_code == 200
    for month in MONTHS[1:]:
        for category in ("labor", "media", "software"):
            BudgetLineFactory(initiative=initiative, month=month, category=category, amount=Decimal("1.00"))
        ExpenseFactory(initiative=initiative, incurred_on=month)
    PeriodLockFactory(month=MONTHS[1])
    with django_assert_num_queries(8):
        assert client.get(reverse(GRID_URL, args=["INI-0001", "FY2026"])).status_code == 200
