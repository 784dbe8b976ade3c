"""The attainment and on-track rule of PRODUCT.md §3b (`outcomes.attainment`), at its edges, as a table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from outcomes import attainment

FIRST = dt.date(2026, 1, 1)
TARGET_DATE = dt.date(2026, 12, 27)  # 360 days after FIRST: a day is 1/360 of the way


def day(n: int) -> dt.date:
    return FIRST + dt.timedelta(days=n)


@pytest.mark.parametrize(
    ("baseline", "target", "latest", "expected"),
    [
        (D("2.0"), D("3.0"), None, None),  # no measurement yet
        (D("2.0"), D("3.0"), D("2.0"), D("0.00")),  # at the baseline
        (D("2.0"), D("3.0"), D("3.0"), D("100.00")),  # at the target
        (D("2.0"), D("3.0"), D("2.5"), D("50.00")),
        (D("2.0"), D("3.0"), D("3.5"), D("150.00")),  # beyond the target
        (D("2.0"), D("3.0"), D("1.5"), D("-50.00")),  # worse than the baseline
        (D("400"), D("200"), D("300"), D("50.00")),  # direction down: a fall is progress
        (D("400"), D("200"), D("450"), D("-25.00")),  # direction down, going up is going back
        (D("400"), D("200"), D("150"), D("125.00")),
        (D("0"), D("3"), D("1"), D("33.33")),  # thirds round half up to two places
        (D("0"), D("3"), D("2"), D("66.67")),
        (D("0"), D("8"), D("0.0001"), D("0.00")),  # 0.00125 % rounds to 0.00
        (D("0"), D("-8"), D("-0.0004"), D("0.01")),  # 0.005 % rounds half up (away from zero)
        (D("0"), D("8"), D("-0.0004"), D("-0.01")),  # and −0.005 % away from zero
    ],
)
def test_attainment_is_the_share_of_the_way_from_baseline_to_target(baseline, target, latest, expected):
    assert attainment.attainment_pct(baseline=baseline, target=target, latest=latest) == expected


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "error"),
    [
        ("up", D("5"), D("5"), "The target must differ from the baseline"),
        ("down", D("5"), D("5"), "The target must differ from the baseline"),
        ("up", D("5"), D("4"), "A KPI that should go up needs a target above its baseline."),
        ("down", D("5"), D("6"), "A KPI that should go down needs a target below its baseline."),
        ("up", D("5"), D("6"), ""),
        ("down", D("5"), D("4"), ""),
    ],
)
def test_a_target_must_lie_beyond_the_baseline_in_the_direction(direction, baseline, target, error):
    found = attainment.target_error(direction=direction, baseline=baseline, target=target)
    assert found.startswith(error) and bool(found) == bool(error)


# (baseline, target, latest, first measured n days after FIRST, asked on day n, on track?)
ON_TRACK_CASES = [
    (D("0"), D("100"), None, None, 10, None),  # no measurement: neither
    (D("0"), D("100"), D("50"), 0, 180, True),  # half the way at half the time: exactly on track
    (D("0"), D("100"), D("50"), 0, 181, False),  # a day later it is behind
    (D("0"), D("100"), D("49.99"), 0, 180, False),
    (D("0"), D("100"), D("10"), 0, 0, True),  # on the first day any progress is on track
    (D("0"), D("100"), D("0"), 0, 0, True),  # at the baseline on the first day: nothing elapsed yet
    (D("0"), D("100"), D("0"), 0, 1, False),
    (D("0"), D("100"), D("-1"), 0, 0, False),  # below the baseline: never on track
    (D("0"), D("100"), D("99.99"), 0, 360, False),  # the target date: only the target is on track
    (D("0"), D("100"), D("100"), 0, 360, True),
    (D("0"), D("100"), D("100"), 0, 900, True),  # long after the target date, reached
    (D("0"), D("100"), D("99"), 0, 900, False),  # long after the target date, not reached
    (D("400"), D("200"), D("300"), 0, 180, True),  # direction down, half the way at half the time
    (D("400"), D("200"), D("300"), 0, 181, False),
    (D("400"), D("200"), D("410"), 0, 10, False),  # direction down, gone up
    (D("0"), D("100"), D("50"), 180, 270, True),  # first measured later: the time runs from then (half of 180 days)
    (D("0"), D("100"), D("50"), 180, 271, False),
    (D("0"), D("100"), D("50"), 360, 360, False),  # first measured on the target date: the target or nothing
    (D("0"), D("100"), D("100"), 400, 400, True),  # first measured after the target date, reached
    (D("0"), D("100"), D("80"), 0, -30, True),  # asked before the first measurement: nothing elapsed
    (D("0"), D("3"), D("1"), 0, 120, True),  # a third at a third of the time: exact, no rounding
    (D("0"), D("3"), D("1"), 0, 121, False),
]


@pytest.mark.parametrize(("baseline", "target", "latest", "first", "on", "expected"), ON_TRACK_CASES)
def test_on_track_when_attainment_keeps_up_with_the_time_elapsed(baseline, target, latest, first, on, expected):
    first_measured_on = None if first is None else day(first)
    values = {"baseline": baseline, "target": target, "latest": latest, "first_measured_on": first_measured_on}
    assert attainment.on_track(**values, target_date=TARGET_DATE, on=day(on)) is expected
    # The date the database compares against gives the same answer on that day.
    until = attainment.on_track_until(**values, target_date=TARGET_DATE)
    assert (None if until is None else day(on) <= until) is expected


@pytest.mark.parametrize("latest", [D(n) / 7 for n in range(-14, 120, 3)])
@pytest.mark.parametrize("first", [0, 100, 359, 360, 365])
def test_on_track_until_is_the_last_day_on_track_for_every_day(latest, first):
    values = {"baseline": D("0"), "target": D("10"), "latest": latest.quantize(D("0.0001"))}
    values["first_measured_on"] = day(first)
    until = attainment.on_track_until(**values, target_date=TARGET_DATE)
    for n in range(-5, 420, 7):
        assert attainment.on_track(**values, target_date=TARGET_DATE, on=day(n)) == (day(n) <= until), n
