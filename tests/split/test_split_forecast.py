"""The forecast columns of the split rows (PRODUCT.md §3 Forecast): the rule, its SQL twin, the engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from budgets.services.locks import period_lock_create
from initiatives.models import CoFundingAgreement
from split import rebuild
from split.arithmetic import FORECAST_COLUMNS, cents_to_amount, forecast_amounts
from split.models import SplitRow
from split.services import split_recompute
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

D = Decimal
FEB, APR, MAY, JUN, JUL, AUG = (dt.date(2026, m, 1) for m in (2, 4, 5, 6, 7, 8))


@pytest.mark.parametrize(
    "month, planned, actual, share, expected",
    [
        # before the as-of month (May): the actual, even when below plan or negative
        (FEB, "1000.00", "1200.55", "60.00", ("1200.55", "720.33", "480.22")),
        (APR, "500.00", "0.00", "60.00", ("0.00", "0.00", "0.00")),
        (APR, "500.00", "-20.00", "50.00", ("-20.00", "-10.00", "-10.00")),
        # the as-of month and later: max(planned, actual)
        (MAY, "300.00", "450.01", "33.33", ("450.01", "149.99", "300.02")),
        (JUN, "1000.01", "0.00", "33.33", ("1000.01", "333.30", "666.71")),
        (JUL, "0.00", "10.00", "33.33", ("10.00", "3.33", "6.67")),
        (AUG, "100.00", "-20.00", "33.33", ("100.00", "33.33", "66.67")),
        # marketing's part rounds halves away from zero
        (MAY, "0.01", "0.00", "50.00", ("0.01", "0.01", "0.00")),
        (FEB, "0.00", "-0.01", "50.00", ("-0.01", "-0.01", "0.00")),
    ],
)
def test_the_forecast_rule(month, planned, actual, share, expected):
    amounts = forecast_amounts(
        month=month, as_of_month=MAY, marketing_share_pct=D(share), planned_total=D(planned), actual_total=D(actual)
    )

    assert tuple(amounts[column] for column in FORECAST_COLUMNS) == tuple(D(value) for value in expected)


twin_cents = st.integers(min_value=-(10**9), max_value=10**9).map(cents_to_amount)
months = st.sampled_from([dt.date(2026, m, 1) for m in range(1, 13)])
twin_inputs = st.lists(
    st.fixed_dictionaries(
        {
            "month": months,
            "marketing_share_pct": st.integers(min_value=0, max_value=10_000).map(cents_to_amount),
            "planned_total": twin_cents,
            "actual_total": twin_cents,
        }
    ),
    min_size=1,
    max_size=30,
)


@pytest.mark.postgres
@pytest.mark.django_db
@hypothesis_settings(max_examples=150, deadline=None)
@given(inputs=twin_inputs)
def test_the_sql_twin_of_the_forecast_agrees_with_the_rule(inputs):
    from django.db import connection

    # Named parameters throughout: the statement's own as-of month is one (%(as_of_month)s).
    params: dict = {"as_of_month": MAY}
    rows = []
    for n, given_row in enumerate(inputs):
        rows.append(
            f"(%(n{n})s::int, %(month{n})s::date, %(share{n})s::numeric(5,2),"
            f" %(planned{n})s::numeric, %(actual{n})s::numeric, 0::numeric, 0::numeric)"
        )
        params |= {f"n{n}": n, f"month{n}": given_row["month"], f"share{n}": given_row["marketing_share_pct"]}
        params |= {f"planned{n}": given_row["planned_total"], f"actual{n}": given_row["actual_total"]}
    names = "n, month, marketing_share_pct, planned_total, actual_total, paid_marketing, paid_it"
    source = f"(SELECT * FROM (VALUES {', '.join(rows)}) AS given ({names}))"
    with connection.cursor() as cursor:
        cursor.execute(rebuild.split_amounts_sql(keys="m.n", source=source, forecast=True) + " ORDER BY m.n", params)
        in_sql = [tuple(result[-3:]) for result in cursor.fetchall()]

    in_python = [
        tuple(forecast_amounts(as_of_month=MAY, **given_row)[column] for column in FORECAST_COLUMNS)
        for given_row in inputs
    ]
    assert in_sql == in_python


@pytest.fixture
def forecast_example(monkeypatch):
    """The hand-computed example: 60 % from January, 33.33 % from April, as of May 2026."""
    monkeypatch.setattr(rebuild, "as_of_month_now", lambda: MAY)
    initiative = InitiativeFactory(status="in_progress")
    CoFundingAgreement.objects.create(initiative=initiative, effective_from=dt.date(2026, 1, 1), marketing_share_pct=60)
    CoFundingAgreement.objects.create(initiative=initiative, effective_from=APR, marketing_share_pct=D("33.33"))
    for month, planned, actual in [
        (FEB, "1000.00", "1200.55"),
        (APR, "500.00", None),
        (MAY, "600.00", "450.01"),
        (JUN, "1000.01", None),
        (JUL, None, "10.00"),
        (AUG, "100.00", "-20.00"),
    ]:
        if planned:
            BudgetLineFactory(initiative=initiative, month=month, category="labor", amount=D(planned))
        if actual:
            ExpenseFactory(initiative=initiative, incurred_on=month.replace(day=9), amount=D(actual), paid_by="it")
    return initiative


EXPECTED = {  # month: (forecast_total, forecast_marketing, forecast_it)
    FEB: (D("1200.55"), D("720.33"), D("480.22")),
    APR: (D("0.00"), D("0.00"), D("0.00")),
    MAY: (D("600.00"), D("199.98"), D("400.02")),  # the as-of month: plan above actual
    JUN: (D("1000.01"), D("333.30"), D("666.71")),
    JUL: (D("10.00"), D("3.33"), D("6.67")),
    AUG: (D("100.00"), D("33.33"), D("66.67")),
}


@pytest.mark.django_db
def test_the_recompute_writes_each_rows_forecast_with_the_months_share(forecast_example):
    split_recompute(trigger="command")

    rows = SplitRow.objects.filter(initiative=forecast_example).order_by("month")
    assert {row.month: tuple(getattr(row, c) for c in FORECAST_COLUMNS) for row in rows} == EXPECTED
    # the estimate at completion: the whole-life sum of the rows (per-row rounding, not of the total)
    assert sum(row.forecast_total for row in rows) == D("2910.56")
    assert sum(row.forecast_marketing for row in rows) == D("1290.27")
    assert sum(row.forecast_it for row in rows) == D("1620.29")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=False)
def test_postgresql_and_the_portable_path_write_the_same_forecast(forecast_example):
    from django.db import transaction

    split_recompute(trigger="command")
    in_sql = list(SplitRow.objects.order_by("month").values("month", *FORECAST_COLUMNS))

    with transaction.atomic():
        SplitRow.objects.all().delete()
        rebuild._rebuild_portable()

    assert list(SplitRow.objects.order_by("month").values("month", *FORECAST_COLUMNS)) == in_sql
    assert {row["month"]: row["forecast_total"] for row in in_sql}[MAY] == D("600.00")


@pytest.mark.django_db
def test_a_closed_month_counts_its_actual_whenever_it_is_closed(forecast_example, finance, monkeypatch):
    # June is closed early, in May: its books are final, so its forecast is its actual (none), not
    # max(plan 1000.01, actual) as an open June would count as of May.
    period_lock_create(month=JUN, reason="June closed early", by=finance)
    frozen = SplitRow.objects.get(initiative=forecast_example, month=JUN)
    assert frozen.closed
    assert (frozen.forecast_total, frozen.forecast_marketing, frozen.forecast_it) == (D("0.00"),) * 3

    monkeypatch.setattr(rebuild, "as_of_month_now", lambda: AUG)
    split_recompute(trigger="command")

    frozen.refresh_from_db()
    assert (frozen.forecast_total, frozen.planned_total) == (D("0.00"), D("1000.01"))
    assert SplitRow.objects.get(initiative=forecast_example, month=MAY).forecast_total == D("450.01")  # now past


@pytest.mark.django_db
def test_the_as_of_month_moves_the_forecast_of_later_recomputes(forecast_example, monkeypatch):
    monkeypatch.setattr(rebuild, "as_of_month_now", lambda: JUL)  # two months later: May and June are past

    split_recompute(trigger="command")

    forecast = dict(SplitRow.objects.values_list("month", "forecast_total"))
    assert forecast == {FEB: D("1200.55"), APR: D("0.00"), MAY: D("450.01"), JUN: D("0.00")} | {
        JUL: D("10.00"),
        AUG: D("100.00"),
    }
