"""The §3 arithmetic: share, half-up rounding, marketing + IT = total; and its SQL twin agrees with it."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from split.arithmetic import (
    SPLIT_AMOUNT_COLUMNS,
    SPLIT_COLUMNS,
    cents_to_amount,
    marketing_part,
    marketing_share_of_actual,
    split_amounts,
)

D = Decimal
cents = st.integers(min_value=-(10**11), max_value=10**11).map(cents_to_amount)
shares = st.integers(min_value=0, max_value=10_000).map(cents_to_amount)  # 0.00 – 100.00 %


def test_worked_example_of_the_issue():
    # Share 60 %; budget 1000.00 + 333.33; expenses 500.00 (IT), 200 EUR × 1.10 = 220.00 (marketing), −50.00 (IT).
    row = split_amounts(
        marketing_share_pct=D("60.00"),
        planned_total=D("1333.33"),
        actual_total=D("670.00"),
        paid_marketing=D("220.00"),
        paid_it=D("450.00"),
    )
    assert row.as_dict() == {
        "planned_total": D("1333.33"),
        "planned_marketing": D("800.00"),
        "planned_it": D("533.33"),
        "actual_total": D("670.00"),
        "actual_marketing": D("402.00"),
        "actual_it": D("268.00"),
        "paid_marketing": D("220.00"),
        "paid_it": D("450.00"),
        "true_up": D("182.00"),
        "variance": D("663.33"),
    }


@pytest.mark.parametrize(
    "total, share, expected",
    [
        ("0.01", "50.00", "0.01"),  # 0.005 rounds up, not to even
        ("-0.01", "50.00", "-0.01"),  # −0.005 rounds away from zero
        ("0.03", "50.00", "0.02"),  # 0.015 → 0.02 (half-even would also give 0.02)
        ("0.05", "50.00", "0.03"),  # 0.025 → 0.03 (half-even would give 0.02)
        ("100.00", "33.33", "33.33"),
        ("0.10", "12.35", "0.01"),  # 0.01235 → 0.01
        ("1000.00", "0.00", "0.00"),
        ("1000.00", "100.00", "1000.00"),
    ],
)
def test_marketing_part_rounds_half_away_from_zero(total, share, expected):
    assert marketing_part(D(total), D(share)) == D(expected)


def test_it_takes_the_remainder_cent():
    row = split_amounts(marketing_share_pct=D("50.00"), planned_total=D("0.01"), actual_total=D("-0.01"))
    assert (row.planned_marketing, row.planned_it) == (D("0.01"), D("0.00"))
    assert (row.actual_marketing, row.actual_it) == (D("-0.01"), D("0.00"))


def test_true_up_negative_when_marketing_paid_more_than_its_share():
    row = split_amounts(
        marketing_share_pct=D("25.00"), actual_total=D("400.00"), paid_marketing=D("400.00"), paid_it=D("0")
    )
    assert row.true_up == D("-300.00")  # IT owes marketing 300


@given(total=cents, share=shares)
def test_marketing_plus_it_is_the_total_whatever_the_share(total, share):
    row = split_amounts(marketing_share_pct=share, planned_total=total, actual_total=total)
    assert row.planned_marketing + row.planned_it == row.planned_total
    assert row.actual_marketing + row.actual_it == row.actual_total
    # and marketing's part is within half a cent of the exact share
    assert abs(row.actual_marketing - total * share / 100) <= D("0.005")
    assert row.actual_marketing.as_tuple().exponent == -2


@given(paid_marketing=cents, paid_it=cents, planned=cents, share=shares)
def test_true_up_and_variance_follow_their_definitions(paid_marketing, paid_it, planned, share):
    actual = paid_marketing + paid_it
    row = split_amounts(
        marketing_share_pct=share,
        planned_total=planned,
        actual_total=actual,
        paid_marketing=paid_marketing,
        paid_it=paid_it,
    )
    assert row.true_up == row.actual_marketing - paid_marketing
    # what IT paid minus what IT bears is the same amount seen from the other side
    assert paid_it - row.actual_it == row.true_up
    assert row.variance == planned - actual


def test_export_columns_are_those_of_the_contract():
    assert ",".join(SPLIT_COLUMNS) == (
        "fiscal_year,month,initiative_code,initiative_title,lane,status,marketing_share_pct,planned_total,"
        "planned_marketing,planned_it,actual_total,actual_marketing,actual_it,paid_marketing,paid_it,true_up,variance"
    )
    assert SPLIT_AMOUNT_COLUMNS[0] == "planned_total" and SPLIT_AMOUNT_COLUMNS[-1] == "variance"
    assert len(SPLIT_AMOUNT_COLUMNS) == 10


def test_marketing_share_of_actual():
    assert marketing_share_of_actual(D("402.00"), D("670.00")) == D("60.00")
    assert marketing_share_of_actual(D("1.00"), D("3.00")) == D("33.33")
    assert marketing_share_of_actual(D("0.00"), D("0.00")) is None


# --- the SQL twin ------------------------------------------------------------------

# Totals biased towards what breaks rounding: a few cents (halves at 50 %, 12.5 %…), and
# month sums up to the column's size, negative ones included (credits).
twin_cents = st.one_of(st.integers(min_value=-999, max_value=999), st.integers(min_value=-(10**13), max_value=10**13))
twin_shares = st.one_of(
    st.sampled_from([0, 1, 1250, 2500, 3333, 5000, 6667, 9999, 10_000]), st.integers(min_value=0, max_value=10_000)
)
twin_inputs = st.lists(
    st.fixed_dictionaries(
        {
            "marketing_share_pct": twin_shares.map(cents_to_amount),
            "planned_total": twin_cents.map(cents_to_amount),
            "actual_total": twin_cents.map(cents_to_amount),
            "paid_marketing": twin_cents.map(cents_to_amount),
            "paid_it": twin_cents.map(cents_to_amount),
        }
    ),
    min_size=1,
    max_size=40,
)
TWIN_INPUTS = ("marketing_share_pct", "planned_total", "actual_total", "paid_marketing", "paid_it")


def sql_twin(inputs: list[dict[str, Decimal]]) -> list[dict[str, Decimal]]:
    """The engine's SQL arithmetic (split.rebuild.SPLIT_AMOUNTS_SQL) run by PostgreSQL on `inputs`."""
    from django.db import connection

    from split.rebuild import split_amounts_sql

    # The types of the rebuild: the share is numeric(5,2), the month's sums are sums of numeric(14,2).
    row = "(%s::int, %s::numeric(5,2), %s::numeric, %s::numeric, %s::numeric, %s::numeric)"
    source = f"(SELECT * FROM (VALUES {', '.join([row] * len(inputs))}) AS given (n, {', '.join(TWIN_INPUTS)}))"
    params = [value for n, values in enumerate(inputs) for value in (n, *(values[name] for name in TWIN_INPUTS))]
    with connection.cursor() as cursor:
        cursor.execute(split_amounts_sql(keys="m.n", source=source) + " ORDER BY m.n", params)
        return [dict(zip(SPLIT_AMOUNT_COLUMNS, amounts, strict=True)) for _, *amounts in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db
@hypothesis_settings(max_examples=200, deadline=None)
@given(inputs=twin_inputs)
def test_the_sql_twin_gives_the_rows_of_the_pure_module(inputs):
    """The one SQL twin of the arithmetic and the pure module agree to the cent on the same inputs."""
    in_sql = sql_twin(inputs)

    in_python = [split_amounts(**values).as_dict() for values in inputs]
    assert in_sql == in_python
    for row in in_sql:  # and every amount comes back in cents, as the columns store it
        assert all(amount.as_tuple().exponent == -2 for amount in row.values()), row


# (share, total, marketing's part): halves of a cent, positive and negative.
HALVES = [
    ("50.00", "0.01", "0.01"),
    ("50.00", "-0.01", "-0.01"),
    ("50.00", "0.05", "0.03"),
    ("12.50", "0.04", "0.01"),  # 0.005 → 0.01
    ("12.50", "-0.12", "-0.02"),  # −0.015 → −0.02
]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_sql_twin_rounds_halves_away_from_zero_like_the_pure_module():
    inputs = [
        {"marketing_share_pct": D(share), "planned_total": D(total), "actual_total": D(total)}
        | {"paid_marketing": D("0.00"), "paid_it": D("0.00")}
        for share, total, _ in HALVES
    ]

    in_sql = sql_twin(inputs)

    assert [row["actual_marketing"] for row in in_sql] == [D(part) for _, _, part in HALVES]
    assert in_sql == [split_amounts(**values).as_dict() for values in inputs]
