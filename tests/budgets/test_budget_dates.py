"""Plans that follow the calendar (issue 17, point 2): a budget line lies in a month its initiative runs.

The even spread fills only the open months the initiative runs in the fiscal year; the grid greys
the other months and says why; a line outside the dates is refused, the month named, in the grid,
the import, the API and the admin (one rule: `budgets.services.budgets.budget_dates_check`); and
new dates that would leave lines outside are refused (`portfolio.plan_months`).
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from budgets.models import BudgetLine
from budgets.services.budgets import budget_line_set, budget_line_update, budget_spread_annual
from budgets.services.imports import import_run
from portfolio import plan_months
from tests.api.conftest import token_client
from tests.budgets.finance_helpers import budget_csv, finance_in_admin, grid_post, initiative_with_code
from tests.factories import BudgetLineFactory, PeriodLockFactory

pytestmark = pytest.mark.django_db

GRID_URL = "budgets:budget_grid"
JULY, DECEMBER = dt.date(2026, 7, 1), dt.date(2026, 12, 1)
SECOND_HALF = [dt.date(2026, month, 1) for month in range(7, 13)]
MARCH_OUTSIDE = (
    "March 2026 is outside INI-0001's dates (July 2026 – December 2026): "
    "a budget line must fall in a month the initiative runs."
)


@pytest.fixture(autouse=True)
def january_fiscal_year(settings):
    settings.FISCAL_YEAR_START_MONTH = 1


@pytest.fixture
def second_half():
    """INI-0001, running from 14 July to 3 December 2026: July–December of FY2026."""
    return initiative_with_code("INI-0001", start_date=dt.date(2026, 7, 14), end_date=dt.date(2026, 12, 3))


def cell(month: dt.date, category: str = "labor") -> str:
    return f"cell_{month:%Y%m}_{category}"


# --- the even spread ------------------------------------------------------------------------------


def test_12000_spread_over_july_to_december_is_six_months_of_2000_and_nothing_else(second_half):
    spread = budget_spread_annual(
        initiative=second_half, fiscal_year=2026, annual=Decimal("12000.00"), locked=set(), fixed={}
    )
    assert spread == dict.fromkeys(SECOND_HALF, Decimal("2000.00"))


def test_the_spread_through_the_grid_saves_six_months_of_2000_and_nothing_else(client, finance, second_half):
    client.force_login(finance)
    url = reverse(GRID_URL, args=["INI-0001", "FY2026"])

    spread = client.post(url, grid_post(second_half, annual_labor="12000.00", action="spread:labor"))

    assert spread.status_code == 200
    form = spread.context["form"]
    assert form.spread_notice == (
        "12,000.00 spread over 6 months of Labor, Jul 2026 to Dec 2026 "
        "(INI-0001 runs July 2026 – December 2026). Review the row, then save."
    )
    saved = client.post(url, {**form.data, "action": "save"})
    assert saved.status_code == 302
    assert sorted(BudgetLine.objects.values_list("month", "category", "amount")) == [
        (month, "labor", Decimal("2000.00")) for month in SECOND_HALF
    ]


def test_the_spread_balances_the_cents_over_the_initiatives_months(second_half):
    """100,000 cents over 6 months: 16,666 each and 4 left over, one each to the first four months."""
    spread = budget_spread_annual(
        initiative=second_half, fiscal_year=2026, annual=Decimal("1000.00"), locked=set(), fixed={}
    )
    assert list(spread.items()) == [
        (dt.date(2026, 7, 1), Decimal("166.67")),
        (dt.date(2026, 8, 1), Decimal("166.67")),
        (dt.date(2026, 9, 1), Decimal("166.67")),
        (dt.date(2026, 10, 1), Decimal("166.67")),
        (dt.date(2026, 11, 1), Decimal("166.66")),
        (dt.date(2026, 12, 1), Decimal("166.66")),
    ]


def test_the_spread_skips_locked_months_which_keep_their_amount(second_half):
    """September is locked holding 2,000.00: the other 10,000.00 go over the five open months."""
    september = dt.date(2026, 9, 1)
    spread = budget_spread_annual(
        initiative=second_half,
        fiscal_year=2026,
        annual=Decimal("12000.00"),
        locked={dt.date(2026, 3, 1), september},  # March is outside the dates anyway
        fixed={september: Decimal("2000.00")},
    )
    assert spread == dict.fromkeys([month for month in SECOND_HALF if month != september], Decimal("2000.00"))


def test_the_spread_follows_a_july_fiscal_year(settings, second_half):
    """With the fiscal year starting in July, FY2027 is July 2026 – June 2027: the initiative's first six months."""
    settings.FISCAL_YEAR_START_MONTH = 7
    spread = budget_spread_annual(
        initiative=second_half, fiscal_year=2027, annual=Decimal("12000.00"), locked=set(), fixed={}
    )
    assert spread == dict.fromkeys(SECOND_HALF, Decimal("2000.00"))


def test_a_spread_in_a_year_the_initiative_does_not_run_is_refused(second_half):
    with pytest.raises(ValidationError) as refused:
        budget_spread_annual(initiative=second_half, fiscal_year=2025, annual=Decimal("12000.00"), locked=(), fixed={})
    assert refused.value.message_dict == {
        "annual": ["INI-0001 runs July 2026 – December 2026: none of its months falls in FY2025."]
    }


# --- the grid ---------------------------------------------------------------------------------------


def test_the_grid_greys_the_months_outside_the_dates_and_says_why(client, finance, second_half):
    client.force_login(finance)
    response = client.get(reverse(GRID_URL, args=["INI-0001", "FY2026"]))

    assert response.status_code == 200
    months = response.context["rows"]["months"]
    assert [month["outside"] for month in months] == [True] * 6 + [False] * 6
    form = response.context["form"]
    disabled = {month["month"] for month in months if all(c.field.disabled for c in month["cells"])}
    assert disabled == {dt.date(2026, month, 1) for month in range(1, 7)}
    page = response.content.decode()
    assert (
        "INI-0001 runs <strong>July 2026 – December 2026</strong>. The greyed months of FY2026 are outside its "
        "dates: they take no budget line, and the even spread skips them." in page
    )
    assert page.count("outside the dates</span>") == 6
    assert not form[cell(JULY)].field.disabled


def test_a_grid_of_a_year_the_initiative_does_not_run_says_so(client, finance, second_half):
    client.force_login(finance)
    response = client.get(reverse(GRID_URL, args=["INI-0001", "FY2027"]))
    assert "INI-0001 runs <strong>July 2026 – December 2026</strong>: none of its months falls in FY2027" in (
        response.content.decode()
    )
    assert all(field.field.disabled for field in response.context["form"] if field.name.startswith("cell_"))


def test_a_line_outside_the_dates_is_refused_in_the_grid_naming_the_month(client, finance, second_half):
    """A forged post (or a page loaded before the dates changed) sends March: refused, nothing saved."""
    client.force_login(finance)
    data = grid_post(second_half, **{cell(dt.date(2026, 3, 1)): "50.00", cell(JULY): "60.00"})
    response = client.post(reverse(GRID_URL, args=["INI-0001", "FY2026"]), data)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [MARCH_OUTSIDE]
    assert escape(MARCH_OUTSIDE) in response.content.decode()
    assert not BudgetLine.objects.exists()  # all or nothing: July is not saved either


def test_a_line_stranded_outside_the_dates_can_be_cleared_but_not_changed(client, finance, second_half):
    """A line from before the rule (or before the dates moved) stays editable so that finance can remove it."""
    march = dt.date(2026, 3, 1)
    BudgetLineFactory(initiative=second_half, month=march, category="labor", amount=Decimal("75.00"))
    client.force_login(finance)
    url = reverse(GRID_URL, args=["INI-0001", "FY2026"])

    changed = client.post(url, grid_post(second_half, **{cell(march): "80.00"}))
    assert changed.context["form"].non_field_errors() == [MARCH_OUTSIDE]
    assert BudgetLine.objects.get().amount == Decimal("75.00")

    cleared = client.post(url, grid_post(second_half, **{cell(march): ""}))
    assert cleared.status_code == 302
    assert not BudgetLine.objects.exists()


# --- the import, the API, the admin, the service --------------------------------------------------


def test_a_line_outside_the_dates_is_refused_in_the_import_naming_the_month(finance, second_half):
    data = budget_csv({"month": "2026-07"}, {"month": "2026-03"}, {"month": "2027-01", "category": "media"})
    report = import_run(kind="budget", data=data, file_name="plan.csv", by=finance)

    assert not report.saved
    assert [(error.line, error.column, error.message) for error in report.errors] == [
        (3, "month", MARCH_OUTSIDE),
        (
            4,
            "month",
            "January 2027 is outside INI-0001's dates (July 2026 – December 2026): "
            "a budget line must fall in a month the initiative runs.",
        ),
    ]
    assert not BudgetLine.objects.exists()  # all or nothing: July is not saved either


def test_a_line_outside_the_dates_is_refused_in_the_api_naming_the_month(finance, second_half):
    client = token_client(finance)
    line = BudgetLineFactory(initiative=second_half, month=JULY, category="labor", amount=Decimal("10.00"))

    created = client.post(
        "/api/budget-lines/",
        {"initiative": "INI-0001", "month": "2026-03", "category": "media", "amount": "5.00"},
        format="json",
    )
    moved = client.patch(f"/api/budget-lines/{line.pk}/", {"month": "2026-03"}, format="json")

    for response in (created, moved):
        assert response.status_code == 400
        assert response.json() == {"month": [MARCH_OUTSIDE]}
    assert list(BudgetLine.objects.values_list("month", "category", "amount")) == [(JULY, "labor", Decimal("10.00"))]
    inside = client.post(
        "/api/budget-lines/",
        {"initiative": "INI-0001", "month": "2026-12", "category": "media", "amount": "5.00"},
        format="json",
    )
    assert inside.status_code == 201


def test_a_line_outside_the_dates_is_refused_in_the_admin_under_its_month(client, second_half):
    client.force_login(finance_in_admin())
    response = client.post(
        reverse("admin:budgets_budgetline_add"),
        {"initiative": second_half.pk, "month": "2026-03-01", "category": "media", "amount": "10.00"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"month": [MARCH_OUTSIDE]}
    assert not BudgetLine.objects.exists()


def test_the_service_refuses_every_month_outside_and_reads_the_dates_of_the_stored_row(finance, second_half):
    stale = type(second_half).objects.get(pk=second_half.pk)
    type(second_half).objects.filter(pk=second_half.pk).update(end_date=dt.date(2026, 11, 30))
    with pytest.raises(ValidationError) as refused:
        budget_line_set(initiative=stale, month=DECEMBER, category="labor", amount=Decimal("1.00"), by=finance)
    assert refused.value.message_dict == {
        "month": [
            "December 2026 is outside INI-0001's dates (July 2026 – November 2026): "
            "a budget line must fall in a month the initiative runs."
        ]
    }
    line = budget_line_set(initiative=stale, month=JULY, category="labor", amount=Decimal("1.00"), by=finance)
    with pytest.raises(ValidationError, match="June 2026 is outside INI-0001's dates"):
        budget_line_update(line=line, data={"month": dt.date(2026, 6, 1)}, by=finance)


def test_a_locked_month_outside_the_dates_is_named_as_outside_first(finance, second_half):
    """Both would refuse it; the dates are the rule finance can do nothing about, so they are said first."""
    PeriodLockFactory(month=dt.date(2026, 3, 1))
    with pytest.raises(ValidationError) as refused:
        budget_line_set(
            initiative=second_half, month=dt.date(2026, 3, 1), category="labor", amount=Decimal("1"), by=finance
        )
    assert refused.value.messages == [MARCH_OUTSIDE]


# --- new dates that would strand budget lines -----------------------------------------------------


def test_new_dates_that_would_strand_budget_lines_are_refused_naming_the_months(second_half):
    for month in (JULY, dt.date(2026, 8, 1), dt.date(2026, 11, 1), DECEMBER):
        BudgetLineFactory(initiative=second_half, month=month, category="labor")
    BudgetLineFactory(initiative=second_half, month=JULY, category="media")

    assert plan_months.dates_change_errors(second_half.pk, dt.date(2026, 8, 31), dt.date(2026, 10, 1)) == {
        "start_date": "This initiative has budget lines in July 2026, outside the new dates: "
        "finance must move or remove them before the dates can change.",
        "end_date": "This initiative has budget lines in November 2026 and December 2026, outside the new dates: "
        "finance must move or remove them before the dates can change.",
    }
    assert plan_months.dates_change_errors(second_half.pk, dt.date(2026, 7, 31), dt.date(2027, 3, 1)) == {}
    assert plan_months.stranded_budget_months(second_half.pk, dt.date(2026, 9, 1), dt.date(2026, 12, 1)) == [
        JULY,
        dt.date(2026, 8, 1),
    ]
