"""The comparison of the live plan and scenarios, computed in the database (PRODUCT.md §3a; issue 19 point 3).

THE hand-computed example (fiscal year 2026 = calendar 2026, the forecast as of June 2026):

Loyalty (50 % marketing, owner on the marketing side, fast lane): a plan of 1,000.01 in March, April,
June and July; spends 400.00 in March, 1,200.00 in April, 100.00 in June.
CDP (30 %, owner on the IT side, fast lane): a plan of 500.05 in May and June; spends 600.00 in May.
Scenario "Marketing takes loyalty": loyalty 70 % from April; the CDP moves to the core stack.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.db.models import Sum

from budgets.services.locks import period_lock_create
from scenarios.comparison import Figures, comparison, sorted_differences
from scenarios.exports import DIFFERENCE_COLUMNS, FIGURE_COLUMNS, write_csv, write_xlsx
from scenarios.models import Scenario, ScenarioChange
from split import rebuild
from split.arithmetic import forecast_amounts, marketing_part, round_half_up
from split.models import SplitRow
from split.selectors import split_summary
from split.services import split_recompute
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
MAR, APR, MAY, JUN, JUL = (dt.date(2026, month, 1) for month in (3, 4, 5, 6, 7))


@pytest.fixture
def example(monkeypatch):
    monkeypatch.setattr(rebuild, "as_of_month_now", lambda: JUN)
    loyalty = InitiativeFactory(
        code="LOY", title="Loyalty", marketing_share_pct=D("50.00"), owner=UserFactory(role="pm", side="marketing")
    )
    cdp = InitiativeFactory(
        code="CDP", title="CDP", marketing_share_pct=D("30.00"), owner=UserFactory(role="pm", side="it")
    )
    for month in (MAR, APR, JUN, JUL):
        BudgetLineFactory(initiative=loyalty, month=month, amount=D("1000.01"))
    for month, amount in ((MAR, "400.00"), (APR, "1200.00"), (JUN, "100.00")):
        ExpenseFactory(initiative=loyalty, incurred_on=month.replace(day=5), amount=D(amount), paid_by="it")
    for month in (MAY, JUN):
        BudgetLineFactory(initiative=cdp, month=month, amount=D("500.05"))
    ExpenseFactory(initiative=cdp, incurred_on=MAY.replace(day=5), amount=D("600.00"), paid_by="it")
    split_recompute(trigger="command")
    author = UserFactory(role="executive", side="marketing")
    scenario = Scenario.objects.create(name="Marketing takes loyalty", author=author)
    ScenarioChange.objects.create(
        scenario=scenario, initiative=loyalty, kind="share", from_month=APR, marketing_share_pct=D("70.00")
    )
    ScenarioChange.objects.create(scenario=scenario, initiative=cdp, kind="lane", lane="core_stack")
    return {"loyalty": loyalty, "cdp": cdp, "scenario": scenario, "author": author}


def figures(planned, planned_m, planned_it, share, forecast, forecast_m, forecast_it) -> dict:
    return {
        "planned_total": D(planned),
        "planned_marketing": D(planned_m),
        "planned_it": D(planned_it),
        "marketing_share_of_plan": D(share) if share is not None else None,
        "forecast_total": D(forecast),
        "forecast_marketing": D(forecast_m),
        "forecast_it": D(forecast_it),
    }


# Live. Loyalty: planned 4 × 1,000.01 = 4,000.04; marketing 4 × round(500.005) = 4 × 500.01 = 2,000.04, IT 2,000.00.
#   Forecast: March and April (before June) their actuals 400.00 + 1,200.00; June max(1,000.01, 100.00) = 1,000.01;
#   July 1,000.01 → 3,600.02; marketing 200.00 + 600.00 + 500.01 + 500.01 = 1,800.02, IT 1,800.00.
# CDP: planned 2 × 500.05 = 1,000.10; marketing 2 × round(150.015) = 300.04, IT 700.06.
#   Forecast: May (before June) 600.00; June max(500.05, 0) = 500.05 → 1,100.05; marketing 180.00 + 150.02 = 330.02,
#   IT 770.03.
LIVE_LOYALTY = figures("4000.04", "2000.04", "2000.00", "50.00", "3600.02", "1800.02", "1800.00")
LIVE_CDP = figures("1000.10", "300.04", "700.06", "30.00", "1100.05", "330.02", "770.03")
# Overall: planned 5,000.14, marketing 2,300.08 (46.0003 % → 46.00), IT 2,700.06; forecast 4,700.07, 2,130.04, 2,570.03.
LIVE = figures("5000.14", "2300.08", "2700.06", "46.00", "4700.07", "2130.04", "2570.03")
# Scenario. Loyalty 70 % from April: March 500.01; April, June, July round(700.007) = 700.01 each → 2,600.04,
#   IT 1,400.00. Forecast marketing: March 200.00; April 1,200.00 × 0.7 = 840.00; June, July 700.01 → 2,440.02,
#   IT 1,160.00. CDP: the same money, in the core stack.
SCENARIO_LOYALTY = figures("4000.04", "2600.04", "1400.00", "65.00", "3600.02", "2440.02", "1160.00")
# Overall: marketing 2,900.08 (57.99996 % → 58.00), IT 2,100.06; forecast marketing 2,770.04, IT 1,930.03.
SCENARIO = figures("5000.14", "2900.08", "2100.06", "58.00", "4700.07", "2770.04", "1930.03")


def live_sums() -> dict:
    return SplitRow.objects.aggregate(*(Sum(c) for c in ("planned_total", "planned_marketing", "forecast_marketing")))


def test_the_hand_computed_example_to_the_cent(example, django_assert_max_num_queries):
    before = live_sums()
    with django_assert_max_num_queries(2):  # live + one scenario
        result = comparison(fiscal_year=2026, scenarios=[example["scenario"]], as_of_month=JUN)

    assert result.live.overall.as_dict() == LIVE
    assert {lane: f.as_dict() for lane, f in result.live.by_lane.items()} == {"fast_lane": LIVE}
    assert {side: f.as_dict() for side, f in result.live.by_side.items()} == {"marketing": LIVE_LOYALTY, "it": LIVE_CDP}
    [column] = result.scenarios
    assert column.overall.as_dict() == SCENARIO
    assert {lane: f.as_dict() for lane, f in column.by_lane.items()} == {
        "fast_lane": SCENARIO_LOYALTY,
        "core_stack": LIVE_CDP,
    }
    assert {side: f.as_dict() for side, f in column.by_side.items()} == {"marketing": SCENARIO_LOYALTY, "it": LIVE_CDP}
    [cdp, loyalty] = result.differences
    assert (cdp.code, cdp.live_lane, cdp.deltas) == (
        "CDP",
        "fast_lane",
        [{"planned_total": 0, "planned_marketing": 0, "forecast_marketing": 0, "forecast_it": 0, "lane": "core_stack"}],
    )
    assert loyalty.deltas == [
        {
            "planned_total": D("0.00"),
            "planned_marketing": D("600.00"),
            "forecast_marketing": D("640.00"),
            "forecast_it": D("-640.00"),
            "lane": "",
        }
    ]
    by_marketing = sorted_differences(result.differences, by="planned_marketing", descending=True)
    assert [d.code for d in by_marketing] == ["LOY", "CDP"]
    # live figures unchanged, and the live column is the split's summary
    assert live_sums() == before
    [summary] = split_summary(filters={"fiscal_year": 2026})
    for name in (
        "planned_total",
        "planned_marketing",
        "planned_it",
        "forecast_total",
        "forecast_marketing",
        "forecast_it",
    ):
        assert summary[name] == LIVE[name], name


def test_three_scenarios_one_query_each(example, django_assert_max_num_queries):
    others = [Scenario.objects.create(name=f"Empty {n}", author=example["author"]) for n in range(2)]
    with django_assert_max_num_queries(4):
        result = comparison(fiscal_year=2026, scenarios=[example["scenario"], *others], as_of_month=JUN)
    assert [c.overall.as_dict() for c in result.columns] == [LIVE, SCENARIO, LIVE, LIVE]
    with pytest.raises(ValueError, match="at most 3"):
        comparison(fiscal_year=2026, scenarios=[example["scenario"], *others, example["scenario"]])


def test_a_closed_month_is_never_changed(example, finance):
    period_lock_create(month=APR, reason="Month-end close", by=finance)
    assert SplitRow.objects.filter(month=APR, closed=True).count() == 1
    result = comparison(fiscal_year=2026, scenarios=[example["scenario"]], as_of_month=JUN)
    # April stays at 50 %: marketing's plan 2,600.04 − 700.01 + 500.01, its forecast 2,440.02 − 840.00 + 600.00
    loyalty = result.scenarios[0].initiatives[example["loyalty"].pk].figures
    assert (loyalty.planned_marketing, loyalty.forecast_marketing) == (D("2400.04"), D("2200.02"))
    assert result.live.overall.as_dict() == LIVE


def test_exclusion_and_scale_from_a_month(example):
    scenario = Scenario.objects.create(name="Cuts", author=example["author"])
    ScenarioChange.objects.create(scenario=scenario, initiative=example["loyalty"], kind="exclude", from_month=JUN)
    ScenarioChange.objects.create(
        scenario=scenario, initiative=example["cdp"], kind="scale", from_month=JUN, plan_scale_pct=D("50.00")
    )
    result = comparison(fiscal_year=2026, scenarios=[scenario], as_of_month=JUN)
    column = result.scenarios[0]
    # Loyalty: no plan in June and July → 2,000.02 (marketing 1,000.02); forecast March 400.00, April 1,200.00,
    # June max(0, 100.00) = 100.00, July 0 → 1,700.00, marketing 200.00 + 600.00 + 50.00 = 850.00.
    loyalty = column.initiatives[example["loyalty"].pk].figures.as_dict()
    assert loyalty == figures("2000.02", "1000.02", "1000.00", "50.00", "1700.00", "850.00", "850.00")
    # CDP: June 500.05 × 50 % = 250.025 → 250.03, so 750.08; marketing 150.02 + round(75.009) = 225.03.
    # Forecast: May 600.00; June max(250.03, 0) = 250.03 → 850.03; marketing 180.00 + 75.01 = 255.01.
    cdp = column.initiatives[example["cdp"].pk].figures.as_dict()
    assert cdp == figures("750.08", "225.03", "525.05", "30.00", "850.03", "255.01", "595.02")
    assert {d.code for d in result.differences} == {"LOY", "CDP"}


# --- exports ------------------------------------------------------------------------


def test_the_csv_export_has_the_columns_once_and_is_formula_safe(example):
    Scenario.objects.filter(pk=example["scenario"].pk).update(name="=HYPERLINK(1)")
    example["scenario"].refresh_from_db()
    result = comparison(fiscal_year=2026, scenarios=[example["scenario"]], as_of_month=JUN)
    figures_csv, differences_csv = io.StringIO(), io.StringIO()
    write_csv(result, figures_csv)
    write_csv(result, differences_csv, differences=True)

    header, *rows = list(csv.reader(io.StringIO(figures_csv.getvalue())))
    assert tuple(header) == FIGURE_COLUMNS
    live_row = ["overall", "all", "Live plan", "5000.14", "2300.08", "2700.06", "46.00", "4700.07", "2130.04"]
    assert rows[0] == [*live_row, "2570.03"]
    assert rows[1][:5] == ["overall", "all", "'=HYPERLINK(1)", "5000.14", "2900.08"]
    assert [row[:3] for row in rows[2:]] == [
        ["lane", "core_stack", "Live plan"],  # live has nothing in the core stack: zeros, no share
        ["lane", "core_stack", "'=HYPERLINK(1)"],
        ["lane", "fast_lane", "Live plan"],
        ["lane", "fast_lane", "'=HYPERLINK(1)"],
        ["side", "it", "Live plan"],
        ["side", "it", "'=HYPERLINK(1)"],
        ["side", "marketing", "Live plan"],
        ["side", "marketing", "'=HYPERLINK(1)"],
    ]
    assert rows[2][3:7] == ["0.00", "0.00", "0.00", ""]
    header, *rows = list(csv.reader(io.StringIO(differences_csv.getvalue())))
    assert tuple(header) == DIFFERENCE_COLUMNS
    assert rows == [
        ["CDP", "CDP", "'=HYPERLINK(1)", "fast_lane", "0.00", "0.00", "0.00", "0.00", "core_stack"],
        ["LOY", "Loyalty", "'=HYPERLINK(1)", "fast_lane", "0.00", "600.00", "640.00", "-640.00", ""],
    ]


def test_the_xlsx_export_writes_text_as_strings_and_money_as_numbers(example):
    Scenario.objects.filter(pk=example["scenario"].pk).update(name="=HYPERLINK(1)")
    example["scenario"].refresh_from_db()
    out = io.BytesIO()
    write_xlsx(comparison(fiscal_year=2026, scenarios=[example["scenario"]], as_of_month=JUN), out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        sheets = [archive.read(f"xl/worksheets/sheet{n}.xml").decode() for n in (1, 2)]
    for sheet in sheets:
        assert "<f>" not in sheet  # no formula anywhere
        assert '<c r="A1" s="1" t="inlineStr"><is><t>' in sheet
    assert sheets[0].count("=HYPERLINK(1)") == 5  # overall, 2 lanes, 2 sides: as text
    assert "<v>5000.14</v>" in sheets[0] and "<v>640</v>" in sheets[1]


# --- the SQL against §3's arithmetic ---------------------------------------------------


def test_the_comparison_equals_split_arithmetic_row_by_row(monkeypatch):
    """Odd cents, negative actuals (credits), shares and scales with halves: each row by
    `split.arithmetic` (round_half_up, away from zero), summed, equals the database's figures."""
    monkeypatch.setattr(rebuild, "as_of_month_now", lambda: JUN)
    author = UserFactory(role="executive", side="it")
    scenario = Scenario.objects.create(name="Oracle", author=author)
    months = [dt.date(2026, month, 1) for month in range(1, 13)]
    expected = Figures()
    for n in range(6):
        initiative = InitiativeFactory(marketing_share_pct=D("12.35") * n)
        share, scale, start = D("33.33") + n, D("87.50") + D("0.25") * n, months[n + 2]
        for k, month in enumerate(months):
            planned = D("100.05") * k + D("0.03") * n  # plans are never negative; actuals may be (credits)
            actual = D("-45.55") * (n - k) if k % 3 else D(0)
            BudgetLineFactory(initiative=initiative, month=month, amount=planned)
            if actual:
                ExpenseFactory(initiative=initiative, incurred_on=month.replace(day=9), amount=actual, paid_by="it")
            row_share = share if month >= start else initiative.marketing_share_pct
            row_planned = planned
            if n % 2 and month >= start:
                row_planned = round_half_up(planned * scale / 100, 2)
            forecast = forecast_amounts(
                month=month,
                as_of_month=JUN,
                marketing_share_pct=row_share,
                planned_total=row_planned,
                actual_total=actual,
            )
            expected.add(
                Figures(
                    row_planned,
                    marketing_part(row_planned, row_share),
                    forecast["forecast_total"],
                    forecast["forecast_marketing"],
                )
            )
        ScenarioChange.objects.create(
            scenario=scenario, initiative=initiative, kind="share", from_month=start, marketing_share_pct=share
        )
        if n % 2:
            ScenarioChange.objects.create(
                scenario=scenario, initiative=initiative, kind="scale", from_month=start, plan_scale_pct=scale
            )
    # Exact halves of a cent, both signs: 50 % of −0.01 (a credit in March) is −0.005 → −0.01, of 0.01 → 0.01.
    halves = InitiativeFactory(marketing_share_pct=D("20.00"))
    ExpenseFactory(initiative=halves, incurred_on=dt.date(2026, 3, 9), amount=D("-0.01"), paid_by="it")
    BudgetLineFactory(initiative=halves, month=JUL, amount=D("0.01"))
    ScenarioChange.objects.create(
        scenario=scenario, initiative=halves, kind="share", from_month=MAR, marketing_share_pct=D("50.00")
    )
    expected.add(Figures(D("0.01"), D("0.01"), D("-0.01") + D("0.01"), D("-0.01") + D("0.01")))
    split_recompute(trigger="command")

    result = comparison(fiscal_year=2026, scenarios=[scenario], as_of_month=JUN)

    assert result.scenarios[0].overall.as_dict() == expected.as_dict()
    halves_figures = result.scenarios[0].initiatives[halves.pk].figures
    assert (halves_figures.planned_marketing, halves_figures.forecast_marketing) == (D("0.01"), D("0.00"))
    assert halves_figures.forecast_it == D("0.00")
    assert result.scenarios[0].overall.forecast_total != result.live.overall.forecast_total
