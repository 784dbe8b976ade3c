"""Believable demo finance records: FX rates, monthly budget lines and ERP actuals (expenses).

Pure: functions take a `random.Random` and plain values and yield rows, never
touching the database (`demo.writers` writes them). Money is handled as integer
cents while generating: it is exact, and formatting `12345` as `"123.45"` is far
cheaper than building a million `Decimal`s.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from django.utils import timezone

from budgets.choices import Category, Payer
from demo.initiatives import DAYS_PER_MONTH, MONTHLY_BUDGET_CENTS, SPENDING_STATUSES, InitiativePlan
from portfolio.fiscal import month_start

# FX rates are stored with eight decimal places: rate × 10⁸ is an exact integer.
RATE_SCALE = 100_000_000
# When finance imported what the seed generates: each month's FX rates on its first
# morning, each day's ERP actuals by the nightly import at 06:30 the next morning.
FX_IMPORT_TIME = dt.time(8, 0)
ERP_IMPORT_TIME = dt.time(6, 30)
ERP_IMPORT_FILE_PREFIX = "erp-actuals-"  # + the posting day + ".csv"


# --- FX rates ---------------------------------------------------------------------

# Units of USD per unit of currency, around where they have traded recently.
USD_VALUE = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0068}


def expense_currencies(reporting_currency: str) -> tuple[str, ...]:
    """The reporting currency first (most spend is booked in it), then three foreign ones."""
    return (reporting_currency, *[code for code in USD_VALUE if code != reporting_currency][:3])


def fx_rate_series(
    rng: random.Random, *, currencies: Sequence[str], months: int, reporting_currency: str
) -> dict[str, list[int]]:
    """Per currency, a monthly rate × 10⁸ (integer) drifting a little around today's level."""
    reporting_value = USD_VALUE.get(reporting_currency, 1.0)
    series = {}
    for currency in currencies:
        base = USD_VALUE.get(currency, 1.0) / reporting_value
        rate, rates = base, []
        for _ in range(months):
            # A random walk pulled back towards the base keeps rates believable over years.
            rate += 0.25 * (base - rate) + base * rng.gauss(0.0, 0.012)
            rate = max(rate, base * 0.5)
            rates.append(max(1, round(rate * RATE_SCALE)))
        series[currency] = rates
    return series


def convert_cents(amount_cents: int, rate_scaled: int) -> int:
    """`amount × rate` rounded half away from zero to cents, in exact integer arithmetic.

    Equal to `round_half_up(Decimal(amount) * Decimal(rate))` for a rate with at
    most eight decimal places, as stored, but much cheaper for a million rows.
    """
    product = amount_cents * rate_scaled
    if product >= 0:
        return (product + RATE_SCALE // 2) // RATE_SCALE
    return -((-product + RATE_SCALE // 2) // RATE_SCALE)


# --- Budget lines -----------------------------------------------------------------

BudgetLineRow = tuple[int, dt.date, str, int]  # initiative_id, month, category, amount_cents


def _budget_months(
    plan: InitiativePlan, months: Sequence[dt.date], locked_months: frozenset[dt.date]
) -> Iterator[dt.date]:
    first, last = month_start(plan.start_date), month_start(plan.end_date)
    return (month for month in months if first <= month <= last and month not in locked_months)


def budget_line_count(
    *, plans: Sequence[InitiativePlan], months: Sequence[dt.date], locked_months: frozenset[dt.date] = frozenset()
) -> int:
    """How many rows `budget_line_rows` will yield, without drawing anything."""
    return sum(len(plan.budget_mix) * sum(1 for _ in _budget_months(plan, months, locked_months)) for plan in plans)


def budget_line_rows(
    rng: random.Random,
    *,
    plans: Sequence[InitiativePlan],
    months: Sequence[dt.date],
    locked_months: frozenset[dt.date] = frozenset(),
) -> Iterator[BudgetLineRow]:
    """Monthly plan lines for every month of each initiative that falls in `months`, rounded to $100."""
    for plan in plans:
        for month in _budget_months(plan, months, locked_months):
            for category, weight in plan.budget_mix:
                amount = round(plan.monthly_budget_cents * weight * rng.uniform(0.85, 1.15) / 10_000) * 10_000
                yield plan.id, month, category, amount


# --- Expenses ---------------------------------------------------------------------

VENDORS = {
    Category.LABOR: (
        "Brightpath Consulting",
        "Northbridge Digital",
        "Keystone Contractors",
        "Bluefin Talent",
        "Ardent Systems Integration",
        "Meridian IT Services",
    ),
    Category.SOFTWARE: (
        "Cloudnine Software",
        "Pinecrest Analytics",
        "Quanta CRM Cloud",
        "Lumen Marketing Suite",
        "Stackline Licensing",
        "Orbit Identity",
    ),
    Category.INFRASTRUCTURE: (
        "Nimbus Cloud Services",
        "Ironclad Hosting",
        "Cirrus Compute",
        "Bastion Networks",
        "Helix Data Centers",
    ),
    Category.AGENCY: (
        "Redwood Creative",
        "Sparkhouse Agency",
        "Mosaic Media Partners",
        "Fieldnote UX Studio",
        "Tidewater Content Co.",
    ),
    Category.MEDIA: (
        "Programmatic Exchange Partners",
        "SearchReach Ads",
        "Socialwave Paid Media",
        "Metro Outdoor",
        "Streamline Video Ads",
        "Podcast Network One",
    ),
    Category.OTHER: (
        "Harbourview Conference Centre",
        "Office Supplies Direct",
        "Corporate Travel Desk",
        "Skillforge Training Academy",
        "Lawson & Pike Legal",
    ),
}
DESCRIPTIONS = {
    Category.LABOR: (
        "Contractor hours, sprint delivery",
        "Solution architect days",
        "QA and test automation",
        "Data engineering support",
        "Implementation partner milestone",
        "Change management workshops",
    ),
    Category.SOFTWARE: (
        "Annual SaaS subscription",
        "Monthly licence true-up",
        "Seats for the campaign team",
        "API usage overage",
        "Support and maintenance renewal",
    ),
    Category.INFRASTRUCTURE: (
        "Cloud compute and storage",
        "CDN traffic",
        "Managed database hosting",
        "Staging environment",
        "Monitoring and logging",
    ),
    Category.AGENCY: (
        "Creative production",
        "UX research sprint",
        "Campaign concept and copy",
        "Localisation of assets",
        "Content production retainer",
    ),
    Category.MEDIA: (
        "Paid social campaign",
        "Search advertising",
        "Programmatic display",
        "Video pre-roll",
        "Influencer fees",
        "Sponsored newsletter",
    ),
    Category.OTHER: (
        "Team travel",
        "Training course",
        "Workshop venue",
        "Legal review",
        "Hardware for the pilot",
    ),
}
# How likely marketing's cost centre pays for a category; averaged with the
# initiative's share so payers roughly follow the co-funding agreement.
MARKETING_PAYS = {
    Category.MEDIA: 0.9,
    Category.AGENCY: 0.8,
    Category.LABOR: 0.45,
    Category.SOFTWARE: 0.35,
    Category.INFRASTRUCTURE: 0.15,
    Category.OTHER: 0.5,
}
# Share of expenses booked in each currency of `expense_currencies`, in order.
CURRENCY_WEIGHTS = (0.75, 0.13, 0.08, 0.04)
CREDIT_RATE = 0.03  # credit notes and reversals
AMOUNT_SIGMA = 1.0  # log-normal spread of single expense amounts
ALL_CATEGORIES = tuple(Category.values)

# initiative_id, incurred_on, amount_cents (in currency), currency, amount_reporting_cents,
# paid_by, category, vendor, description, external_ref
ExpenseRow = tuple[int, dt.date, int, str, int, str, str, str, str, str]


@dataclass(frozen=True)
class ExpenseUniverse:
    """What expense generation draws from: the spending initiatives, the days and the rates."""

    days: tuple[dt.date, ...]  # every day from the first month's start to today
    day_month: tuple[int, ...]  # index into the months of each day
    day_locked: tuple[bool, ...]
    initiative_ids: tuple[int, ...]
    first_day: tuple[int, ...]  # index into `days`
    day_count: tuple[int, ...]
    categories: tuple[tuple[str, ...], ...]
    marketing_share: tuple[float, ...]
    burn: tuple[float, ...]
    cum_weights: tuple[float, ...]  # running sum of open days × size: who gets how many expenses

    @classmethod
    def build(
        cls,
        *,
        plans: Sequence[InitiativePlan],
        months: Sequence[dt.date],
        today: dt.date,
        locked_months: frozenset[dt.date] = frozenset(),
    ) -> ExpenseUniverse:
        first = months[0]
        days = tuple(first + dt.timedelta(days=offset) for offset in range((today - first).days + 1))
        month_index = {month: index for index, month in enumerate(months)}
        day_month = tuple(month_index[day.replace(day=1)] for day in days)
        day_locked = tuple(day.replace(day=1) in locked_months for day in days)
        unlocked_before = [0]
        for locked in day_locked:
            unlocked_before.append(unlocked_before[-1] + (not locked))

        ids, starts, counts, categories, shares, burns, cum_weights = [], [], [], [], [], [], []
        total_weight = 0.0
        for plan in plans:
            if plan.status not in SPENDING_STATUSES:
                continue
            low = max(plan.start_date, first)
            high = min(plan.end_date, plan.spend_until, today)
            if high < low:
                continue
            start, stop = (low - first).days, (high - first).days + 1
            open_days = unlocked_before[stop] - unlocked_before[start]
            if not open_days:
                continue
            size = plan.monthly_budget_cents / MONTHLY_BUDGET_CENTS
            total_weight += open_days * size
            ids.append(plan.id)
            starts.append(start)
            counts.append(stop - start)
            categories.append(tuple(category for category, _ in plan.budget_mix))
            shares.append(float(plan.marketing_share_pct) / 100)
            burns.append(plan.burn)
            cum_weights.append(total_weight)
        return cls(
            days=days,
            day_month=day_month,
            day_locked=day_locked,
            initiative_ids=tuple(ids),
            first_day=tuple(starts),
            day_count=tuple(counts),
            categories=tuple(categories),
            marketing_share=tuple(shares),
            burn=tuple(burns),
            cum_weights=tuple(cum_weights),
        )

    def __bool__(self) -> bool:
        return bool(self.initiative_ids)


def expense_rows(
    rng: random.Random,
    *,
    universe: ExpenseUniverse,
    count: int,
    currencies: Sequence[str],
    rates: Mapping[str, Sequence[int]],
    first_ref_number: int,
) -> Iterator[ExpenseRow]:
    """`count` expenses spread over the spending initiatives in proportion to their size and days.

    Amounts are drawn so that an initiative's actuals land near its plan
    (times its `burn`). This is the hot loop of a million-row seed: locals are
    bound once and money stays in integer cents.
    """
    if not universe or count <= 0:
        return
    # A size-1 initiative plans MONTHLY_BUDGET_CENTS a month; spreading that
    # daily spend over all weighted open days and `count` expenses gives the
    # mean expense, so each initiative's actuals track its budget.
    mean_cents = MONTHLY_BUDGET_CENTS / DAYS_PER_MONTH * universe.cum_weights[-1] / count
    log_shift = AMOUNT_SIGMA * AMOUNT_SIGMA / 2  # keeps the log-normal's mean at 1

    random_ = rng.random
    gauss = rng.gauss
    exp = math.exp
    days, day_month, day_locked = universe.days, universe.day_month, universe.day_locked
    any_locked = any(day_locked)
    ids, first_day, day_count = universe.initiative_ids, universe.first_day, universe.day_count
    categories, shares, burns = universe.categories, universe.marketing_share, universe.burn
    reporting = currencies[0]
    foreign = tuple(currencies[1:])
    thresholds = []
    running = 0.0
    for weight in CURRENCY_WEIGHTS[: len(currencies)]:
        running += weight
        thresholds.append(running / sum(CURRENCY_WEIGHTS[: len(currencies)]))
    reporting_threshold = thresholds[0]
    foreign_thresholds = tuple(thresholds[1:])
    foreign_rates = tuple(rates[currency] for currency in foreign)
    whole_units = tuple(currency == "JPY" for currency in foreign)  # no minor unit
    vendors = {category: (names, len(names)) for category, names in VENDORS.items()}
    descriptions = {category: (texts, len(texts)) for category, texts in DESCRIPTIONS.items()}
    credit_descriptions = {
        category: (tuple(f"Credit note: {text.lower()}" for text in texts), len(texts))
        for category, texts in DESCRIPTIONS.items()
    }
    marketing_pays = dict(MARKETING_PAYS)
    all_categories = ALL_CATEGORIES
    marketing, it = Payer.MARKETING.value, Payer.IT.value
    population = range(len(ids))
    cum_weights = universe.cum_weights

    number = first_ref_number
    remaining = count
    while remaining:
        batch = min(remaining, 10_000)
        remaining -= batch
        for pick in rng.choices(population, cum_weights=cum_weights, k=batch):
            day = first_day[pick] + int(random_() * day_count[pick])
            while any_locked and day_locked[day]:
                day = first_day[pick] + int(random_() * day_count[pick])
            if random_() < 0.9:
                own = categories[pick]
                category = own[int(random_() * len(own))]
            else:
                category = all_categories[int(random_() * 6)]
            cents = max(100, int(mean_cents * burns[pick] * exp(AMOUNT_SIGMA * gauss(0.0, 1.0) - log_shift)))
            credit = random_() < CREDIT_RATE
            if credit:
                cents = -max(100, int(cents * random_() * 0.5))
            draw = random_()
            if draw < reporting_threshold:
                currency, amount, amount_reporting = reporting, cents, cents
            else:
                which = 0
                while which < len(foreign_thresholds) - 1 and draw >= foreign_thresholds[which]:
                    which += 1
                currency = foreign[which]
                rate = foreign_rates[which][day_month[day]]
                amount = round(cents * RATE_SCALE / rate)
                if whole_units[which]:
                    amount = round(amount, -2) or (100 if cents > 0 else -100)
                elif not amount:
                    amount = 1 if cents > 0 else -1
                amount_reporting = convert_cents(amount, rate)
            if credit:
                texts, size = credit_descriptions[category]
            else:
                texts, size = descriptions[category]
            names, name_count = vendors[category]
            paid_by = marketing if random_() * 2 < marketing_pays[category] + shares[pick] else it
            yield (
                ids[pick],
                days[day],
                amount,
                currency,
                amount_reporting,
                paid_by,
                category,
                names[int(random_() * name_count)],
                texts[int(random_() * size)],
                f"ERP-{number:09d}",
            )
            number += 1


class ErpImportTimes(dict):
    """Posting day → when the nightly ERP import brought its expenses in (06:30 the next morning, never after now)."""

    def __init__(self, now: dt.datetime) -> None:
        super().__init__()
        self.now, self.tz = now, timezone.get_current_timezone()

    def __missing__(self, day: dt.date) -> dt.datetime:
        self[day] = at = min(dt.datetime.combine(day + dt.timedelta(days=1), ERP_IMPORT_TIME, tzinfo=self.tz), self.now)
        return at
