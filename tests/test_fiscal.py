import datetime as dt

import pytest

from portfolio import fiscal


@pytest.mark.parametrize("start_month", range(1, 13))
def test_every_month_of_a_fiscal_year_names_that_year(start_month):
    for year in (2025, 2026, 2027):
        months = fiscal.fiscal_year_months(year, start_month)
        assert len(months) == 12
        assert len(set(months)) == 12
        assert all(fiscal.fiscal_year(m, start_month) == year for m in months)
        # the year ends in the calendar year it is named after
        assert months[-1].year == year
        assert [fiscal.fiscal_quarter(m, start_month) for m in months] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]


@pytest.mark.parametrize("start_month", range(1, 13))
def test_fiscal_years_tile_the_calendar_without_gaps(start_month):
    first, last = fiscal.fiscal_year_bounds(2027, start_month)
    next_first, _ = fiscal.fiscal_year_bounds(2028, start_month)
    assert last + dt.timedelta(days=1) == next_first
    assert fiscal.fiscal_year(first - dt.timedelta(days=1), start_month) == 2026
    assert fiscal.fiscal_year(first, start_month) == 2027
    assert fiscal.fiscal_year(last, start_month) == 2027


def test_july_start_names_the_year_after_its_end():
    assert fiscal.fiscal_year(dt.date(2026, 7, 1), 7) == 2027
    assert fiscal.fiscal_year(dt.date(2027, 6, 30), 7) == 2027
    assert fiscal.fiscal_year(dt.date(2026, 6, 30), 7) == 2026
    assert fiscal.fiscal_year_label(2027) == "FY2027"
    assert fiscal.fiscal_quarter(dt.date(2026, 12, 31), 7) == 2
    assert fiscal.fiscal_quarter(dt.date(2027, 1, 1), 7) == 3
    assert fiscal.fiscal_quarter_months(2027, 3, 7) == [dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)]


def test_january_start_is_the_calendar_year():
    assert fiscal.fiscal_year(dt.date(2026, 12, 31), 1) == 2026
    assert fiscal.fiscal_year(dt.date(2027, 1, 1), 1) == 2027
    assert fiscal.fiscal_year_bounds(2026, 1) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def test_default_start_month_comes_from_settings(settings):
    settings.FISCAL_YEAR_START_MONTH = 10
    assert fiscal.fiscal_year(dt.date(2026, 10, 1)) == 2027
    assert fiscal.fiscal_year_start(2027) == dt.date(2026, 10, 1)


@pytest.mark.parametrize("label, year", [("FY2027", 2027), ("fy2026", 2026), ("2025", 2025), (2024, 2024)])
def test_parse_fiscal_year(label, year):
    assert fiscal.parse_fiscal_year(label) == year


@pytest.mark.parametrize("bad", ["FY27", "next year", "", "FY20277"])
def test_parse_fiscal_year_refuses_nonsense(bad):
    with pytest.raises(ValueError):
        fiscal.parse_fiscal_year(bad)


@pytest.mark.parametrize("bad", [0, 13])
def test_start_month_out_of_range_is_refused(bad):
    with pytest.raises(ValueError):
        fiscal.fiscal_year(dt.date(2026, 1, 1), bad)


def test_add_months_crosses_year_ends_both_ways():
    assert fiscal.add_months(dt.date(2026, 11, 1), 3) == dt.date(2027, 2, 1)
    assert fiscal.add_months(dt.date(2026, 2, 1), -3) == dt.date(2025, 11, 1)
