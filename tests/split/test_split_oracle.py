"""An independent oracle of the split (issue 16 acceptance): every row of a seeded portfolio, to the cent.

Written apart from split.arithmetic and split.rebuild: plain Decimal over the raw budget lines,
expenses, initiatives and the agreement timeline, with its own reading of "the agreement in
force" (the latest one from on or before the month; before the first, the first) and of the
fiscal calendar. Frozen months are checked against what the oracle said when they were closed.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command

from budgets.models import BudgetLine, Expense, PeriodLock
from budgets.services.locks import period_lock_create
from initiatives.models import CoFundingAgreement, Initiative
from split.models import ClosedMonth, Settlement, SplitRow
from split.services import split_recompute

pytestmark = pytest.mark.django_db
CENT = Decimal("0.01")
ORACLE_COLUMNS = (
    "fiscal_year",
    "fiscal_quarter",
    "initiative_code",
    "initiative_title",
    "lane",
    "status",
    "marketing_share_pct",
    "closed",
    "planned_total",
    "planned_marketing",
    "planned_it",
    "actual_total",
    "actual_marketing",
    "actual_it",
    "paid_marketing",
    "paid_it",
    "true_up",
    "variance",
)


def shift(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def share_in_force(timeline: list[tuple[dt.date, Decimal]], month: dt.date, fallback: Decimal) -> Decimal:
    """The oracle's own reading of §2: the last agreement from on or before `month`; before the first, the first."""
    if not timeline:
        return fallback
    in_force = [share for effective_from, share in timeline if effective_from <= month]
    return in_force[-1] if in_force else timeline[0][1]


def oracle(*, start_month: int, closed: bool = False) -> dict[tuple[int, dt.date], dict]:
    sums = defaultdict(lambda: {"planned": Decimal(0), "actual": Decimal(0), "by_marketing": Decimal(0)})
    paid_it = defaultdict(Decimal)
    for line in BudgetLine.objects.values_list("initiative_id", "month", "amount"):
        sums[line[:2]]["planned"] += line[2]
    for initiative_id, incurred_on, amount, paid_by in Expense.objects.values_list(
        "initiative_id", "incurred_on", "amount_reporting", "paid_by"
    ):
        key = (initiative_id, incurred_on.replace(day=1))
        sums[key]["actual"] += amount
        if paid_by == "marketing":
            sums[key]["by_marketing"] += amount
        else:
            paid_it[key] += amount
    timelines = defaultdict(list)
    for initiative_id, effective_from, share in CoFundingAgreement.objects.order_by("effective_from").values_list(
        "initiative_id", "effective_from", "marketing_share_pct"
    ):
        timelines[initiative_id].append((effective_from, share))
    initiatives = {initiative.pk: initiative for initiative in Initiative.objects.all()}
    rows = {}
    for (initiative_id, month), s in sums.items():
        initiative = initiatives[initiative_id]
        share = share_in_force(timelines[initiative_id], month, initiative.marketing_share_pct)
        planned_marketing = (s["planned"] * share / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        actual_marketing = (s["actual"] * share / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        months_into_year = (month.month - start_month) % 12
        rows[(initiative_id, month)] = {
            "fiscal_year": shift(month, 11 - months_into_year).year,  # named after the year it ends in
            "fiscal_quarter": months_into_year // 3 + 1,
            "initiative_code": initiative.code,
            "initiative_title": initiative.title,
            "lane": initiative.lane,
            "status": initiative.status,
            "marketing_share_pct": share,
            "closed": closed,
            "planned_total": s["planned"],
            "planned_marketing": planned_marketing,
            "planned_it": s["planned"] - planned_marketing,
            "actual_total": s["actual"],
            "actual_marketing": actual_marketing,
            "actual_it": s["actual"] - actual_marketing,
            "paid_marketing": s["by_marketing"],
            "paid_it": paid_it[(initiative_id, month)],
            "true_up": actual_marketing - s["by_marketing"],
            "variance": s["planned"] - s["actual"],
        }
    return rows


def split_table() -> dict[tuple[int, dt.date], dict]:
    return {
        (row["initiative_id"], row["month"]): {column: row[column] for column in ORACLE_COLUMNS}
        for row in SplitRow.objects.values("initiative_id", "month", *ORACLE_COLUMNS)
    }


def assert_matches(expected: dict, actual: dict) -> None:
    assert expected.keys() == actual.keys()
    for key, want in expected.items():
        assert actual[key] == want, key


def test_the_oracle_matches_every_row_of_a_seeded_portfolio(settings, finance):
    settings.FISCAL_YEAR_START_MONTH = 7
    call_command("seed_demo", initiatives=60, expenses=3000, months=18, seed=16, stdout=io.StringIO())
    # The demo closes its books (months up to two months ago, older quarters settled): reopen them,
    # so that this test changes shares first and then closes the months it chooses.
    Settlement.objects.all().delete()
    ClosedMonth.objects.all().delete()
    SplitRow.objects.filter(closed=True).update(closed=False)
    PeriodLock.objects.all().delete()
    rng = random.Random(16)
    months = sorted({month for _, month in oracle(start_month=7)})
    # Share changes: every third initiative gets a timeline of two or three agreements (some starting
    # after its first records, so months before the first agreement exist too).
    changed = []
    for initiative in Initiative.objects.order_by("pk")[::3]:
        CoFundingAgreement.objects.filter(initiative=initiative).delete()
        effective = sorted(rng.sample(months[1:-1], rng.choice([2, 3])))
        for month in effective:
            share = Decimal(rng.randint(0, 10_000)) / 100
            CoFundingAgreement.objects.create(initiative=initiative, effective_from=month, marketing_share_pct=share)
        changed.append(initiative.pk)

    split_recompute(trigger="command")
    assert_matches(oracle(start_month=7), split_table())

    # Close three months (from the records as they are), then change shares, titles, lanes and records.
    closing = months[-6:-3]
    for month in closing:
        period_lock_create(month=month, reason="Month-end close", by=finance)
    at_close = {key: row | {"closed": True} for key, row in oracle(start_month=7).items() if key[1] in closing}
    for initiative_id in changed[::2]:
        CoFundingAgreement.objects.update_or_create(
            initiative_id=initiative_id, effective_from=closing[1], defaults={"marketing_share_pct": Decimal("12.34")}
        )
    Initiative.objects.filter(pk__in=changed[1::2]).update(title="Renamed after the close", lane="core_stack")
    Initiative.objects.filter(agreements__isnull=True).update(marketing_share_pct=Decimal("41.41"))
    open_months = [month for month in months if month not in closing]
    for initiative in Initiative.objects.order_by("pk")[:5]:
        Expense.objects.create(
            initiative=initiative,
            incurred_on=open_months[-1],
            amount=Decimal("-0.05"),
            currency=settings.REPORTING_CURRENCY,
            amount_reporting=Decimal("-0.05"),
            paid_by="marketing",
            category="other",
        )

    run = split_recompute(trigger="command")

    now = oracle(start_month=7)
    expected = {key: row for key, row in now.items() if key[1] not in closing} | at_close
    actual = split_table()
    assert_matches(expected, actual)
    assert run.row_count == len(actual)
    assert sum(closed.row_count for closed in ClosedMonth.objects.all()) == len(at_close) > 0
    # The frozen months really differ from what they would be now, and months on both sides of a change exist.
    assert any(now[key] != {**row, "closed": False} for key, row in at_close.items())
    first_agreement = {
        initiative_id: min(a.effective_from for a in CoFundingAgreement.objects.filter(initiative_id=initiative_id))
        for initiative_id in changed
    }
    assert any(month < first_agreement[pk] for pk, month in actual if pk in first_agreement)
    shares_by_initiative = defaultdict(set)
    for (initiative_id, _), row in actual.items():
        shares_by_initiative[initiative_id].add(row["marketing_share_pct"])
    assert sum(len(shares) > 1 for shares in shares_by_initiative.values()) >= 5
