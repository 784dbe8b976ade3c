from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.money import round_half_up, spread_evenly


@pytest.mark.parametrize(
    "value, expected",
    [
        ("0.005", "0.01"),
        ("-0.005", "-0.01"),
        ("0.015", "0.02"),
        ("0.025", "0.03"),
        ("1.004", "1.00"),
        ("-2.675", "-2.68"),
    ],
)
def test_round_half_up_rounds_halves_away_from_zero(value, expected):
    assert round_half_up(Decimal(value)) == Decimal(expected)


def test_spread_balances_cents_exactly():
    parts = spread_evenly(Decimal("1000.00"), 12)
    assert sum(parts) == Decimal("1000.00")
    assert parts[:4] == [Decimal("83.34")] * 4
    assert parts[4:] == [Decimal("83.33")] * 8


@given(
    cents=st.integers(min_value=-(10**12), max_value=10**12),
    parts=st.integers(min_value=1, max_value=24),
)
def test_spread_always_adds_up_and_differs_by_at_most_a_cent(cents, parts):
    total = Decimal(cents) / 100
    spread = spread_evenly(total, parts)
    assert sum(spread) == total
    assert max(spread) - min(spread) <= Decimal("0.01")


def test_spread_refuses_fractions_of_a_cent():
    with pytest.raises(ValueError):
        spread_evenly(Decimal("1.001"), 3)
