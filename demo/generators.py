"""Believable demo data for `seed_demo`: the demo people, word lists and row generators.

Everything here is pure: functions take a `random.Random` and plain values and
return or yield rows, and never touch the database. The command decides how to
write them (COPY on PostgreSQL, bulk_create elsewhere), and because every draw
comes from the one generator in a fixed order, the same seed always yields the
same portfolio.

Money is handled as integer cents while generating: it is exact, and formatting
`12345` as `"123.45"` is far cheaper than building a million `Decimal`s.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from budgets.choices import Category, Payer
from initiatives.choices import Health, Lane, Role, Side, Status
from initiatives.lane_assessment import assess_lane
from portfolio.fiscal import month_start

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed on every run: these are demo logins

# FX rates are stored with eight decimal places: rate × 10⁸ is an exact integer.
RATE_SCALE = 100_000_000
DAYS_PER_MONTH = 30.44


# --- People -------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    """One demo login: who they are, their role (Django group) and side."""

    username: str
    first_name: str
    last_name: str
    role: str
    side: str
    title: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("pm.marketing", "Olivia", "Bennett", Role.PM, Side.MARKETING, "Product Manager, Digital Marketing"),
    DemoUser("pm.marketing2", "Lucas", "Fernandez", Role.PM, Side.MARKETING, "Product Manager, E-commerce"),
    DemoUser("pm.marketing3", "Priya", "Natarajan", Role.PM, Side.MARKETING, "Product Manager, CRM & Loyalty"),
    DemoUser("pm.marketing4", "Hannah", "Kowalski", Role.PM, Side.MARKETING, "Product Manager, Brand Experience"),
    DemoUser("pm.it", "Daniel", "Okafor", Role.PM, Side.IT, "Product Manager, Enterprise Applications"),
    DemoUser("pm.it2", "Sofia", "Lindqvist", Role.PM, Side.IT, "Product Manager, Data Platform"),
    DemoUser("pm.it3", "Marcus", "Chen", Role.PM, Side.IT, "Product Manager, Integration"),
    DemoUser("pm.it4", "Amara", "Mensah", Role.PM, Side.IT, "Product Manager, Cloud Infrastructure"),
    DemoUser("cmo", "Victoria", "Hale", Role.EXECUTIVE, Side.MARKETING, "Chief Marketing Officer"),
    DemoUser("vp.growth", "Ethan", "Morales", Role.EXECUTIVE, Side.MARKETING, "VP Growth Marketing"),
    DemoUser("vp.brand", "Chloe", "Dubois", Role.EXECUTIVE, Side.MARKETING, "VP Brand & Communications"),
    DemoUser("cio", "Robert", "Nakamura", Role.EXECUTIVE, Side.IT, "Chief Information Officer"),
    DemoUser("cto", "Elena", "Petrova", Role.EXECUTIVE, Side.IT, "Chief Technology Officer"),
    DemoUser("vp.platforms", "James", "O'Connor", Role.EXECUTIVE, Side.IT, "VP Enterprise Platforms"),
    DemoUser("finance", "Grace", "Whitfield", Role.FINANCE, "", "Finance Business Partner"),
    DemoUser("admin", "Samir", "Patel", Role.ADMIN, "", "Portfolio Administrator"),
)


def demo_logins_table() -> list[str]:
    """The demo logins as the lines of a table: username, password, role, side, and who they are."""
    header = f"  {'username':<16}{'password':<17}{'role':<11}{'side':<11}name"
    lines = [header, "  " + "-" * (len(header) + 30)]
    for spec in DEMO_USERS:
        lines.append(
            f"  {spec.username:<16}{DEMO_PASSWORD:<17}{spec.role:<11}{spec.side or '—':<11}"
            f"{spec.first_name} {spec.last_name}, {spec.title}"
        )
    return lines


# --- Initiatives ----------------------------------------------------------------

# Titles are "<subject> <action>", optionally qualified by a market or a phase,
# so a 20,000-initiative portfolio still reads like real work.
FAST_LANE_SUBJECTS = (
    "Loyalty app",
    "Checkout",
    "Product detail page",
    "Email journey",
    "Mobile app onboarding",
    "Store locator",
    "Referral programme",
    "Social commerce",
    "Customer reviews",
    "Gift card",
    "Subscription box",
    "Live chat",
    "Campaign landing page",
    "Site search",
    "Push notification",
    "Wishlist",
    "Click & collect",
    "Shoppable video",
    "Partner portal",
    "Event microsite",
    "Chatbot",
    "Product recommendations",
    "Member pricing",
    "SMS marketing",
)
FAST_LANE_ACTIONS = (
    "relaunch",
    "A/B testing",
    "redesign",
    "pilot",
    "personalisation",
    "rollout",
    "refresh",
    "experiment",
    "MVP",
    "localisation",
    "speed-up",
    "launch",
)
CORE_STACK_SUBJECTS = (
    "CRM",
    "ERP",
    "Customer data platform",
    "Data warehouse",
    "Billing system",
    "Identity and access management",
    "Product information management",
    "Consent management",
    "Master data management",
    "Digital asset management",
    "Marketing automation",
    "Analytics platform",
    "Payment gateway",
    "Order management",
    "Content management system",
    "API gateway",
    "Cloud landing zone",
    "Tag management",
    "Service desk",
    "Data quality",
    "Single sign-on",
    "Integration platform",
)
CORE_STACK_ACTIONS = (
    "consolidation",
    "upgrade",
    "migration",
    "rollout",
    "replacement",
    "integration",
    "hardening",
    "modernisation",
    "implementation",
    "re-platforming",
)
MARKETS = ("US", "UK", "DACH", "France", "Nordics", "Benelux", "Japan", "EMEA", "APAC", "LATAM", "Canada")
PHASES = ("phase 2", "phase 3", "wave 2", "pilot markets", "global rollout")

# (verb, metric) pairs: what a sponsor would write as the business outcome.
FAST_LANE_OUTCOMES = (
    ("Lift", "online conversion"),
    ("Raise", "repeat purchase rate"),
    ("Grow", "average order value"),
    ("Improve", "30-day app retention"),
    ("Lift", "email click-through"),
    ("Raise", "net promoter score"),
    ("Grow", "lead-to-customer conversion"),
    ("Cut", "cart abandonment"),
    ("Grow", "loyalty sign-ups"),
    ("Reduce", "cost per acquisition"),
)
CORE_STACK_OUTCOMES = (
    ("Cut", "cost-to-serve"),
    ("Halve", "time to launch a campaign"),
    ("Improve", "completeness of customer records"),
    ("Shorten", "month-end close"),
    ("Reduce", "licence spend"),
    ("Reduce", "priority-1 incidents"),
    ("Shorten", "order-to-cash cycle time"),
    ("Cut", "manual data reconciliation"),
    ("Reduce", "time to onboard a new market"),
    ("Retire", "duplicate customer databases"),
)
HORIZONS = ("within two quarters", "by year end", "within 12 months", "over the next 18 months", "this fiscal year")
FAST_LANE_MEANS = (
    "with a test-and-learn cadence of two-week releases",
    "by putting personalised offers in front of known customers",
    "by removing friction from the mobile journey",
    "by letting marketing ship changes without an IT release",
    "by reusing the customer data platform's audiences",
)
CORE_STACK_MEANS = (
    "by consolidating overlapping tools onto one platform",
    "by giving marketing and finance one source of truth",
    "by automating hand-offs between systems of record",
    "by retiring end-of-life infrastructure",
    "so that fast-lane teams can build on stable, governed APIs",
)
LANE_JUSTIFICATIONS = {
    Lane.FAST_LANE: (
        "Time-boxed experiment behind a feature flag; no writes to systems of record.",
        "Reads CRM data through the existing API only, so it can ship on the fast-lane cadence.",
        "Campaign deadline is fixed; we accept a short-lived build and will re-platform if it succeeds.",
    ),
    Lane.CORE_STACK: (
        "Shares the CRM data model, so it must follow core-stack release controls.",
        "Processes payment data; compliance requires the core-stack change process.",
        "Will become a long-lived platform other initiatives build on.",
    ),
}

# Relative weights; most of a live portfolio is approved or under way.
STATUS_WEIGHTS = {
    Status.DRAFT: 8,
    Status.SUBMITTED: 8,
    Status.APPROVED: 22,
    Status.IN_PROGRESS: 38,
    Status.DONE: 14,
    Status.REJECTED: 4,
    Status.CANCELLED: 6,
}
# Statuses under which money is actually spent (once the start date has passed).
SPENDING_STATUSES = frozenset({Status.APPROVED, Status.IN_PROGRESS, Status.DONE, Status.CANCELLED})

HEALTH_WEIGHTS = {
    Status.IN_PROGRESS: (55, 30, 15),
    Status.DONE: (88, 10, 2),
}
DEFAULT_HEALTH_WEIGHTS = (75, 20, 5)
HEALTHS = (Health.GREEN, Health.AMBER, Health.RED)

# Budget categories an initiative plans in, by lane (weights).
LANE_CATEGORY_WEIGHTS = {
    Lane.FAST_LANE: {
        Category.AGENCY: 5,
        Category.MEDIA: 5,
        Category.SOFTWARE: 4,
        Category.LABOR: 4,
        Category.INFRASTRUCTURE: 1,
        Category.OTHER: 1,
    },
    Lane.CORE_STACK: {
        Category.LABOR: 6,
        Category.SOFTWARE: 5,
        Category.INFRASTRUCTURE: 5,
        Category.AGENCY: 1,
        Category.MEDIA: 0,
        Category.OTHER: 1,
    },
}

# A typical initiative plans this much per month (reporting currency, cents);
# each initiative's "size" (log-normal, median 1) scales it.
MONTHLY_BUDGET_CENTS = 2_500_000


@dataclass(slots=True)
class InitiativePlan:
    """Everything needed to insert one initiative and to generate its budget and actuals."""

    title: str
    summary: str
    lane: str
    status: str
    start_date: dt.date
    end_date: dt.date
    marketing_share_pct: Decimal
    health: str
    lane_assessment: dict[str, Any]
    lane_recommended: str
    lane_justification: str
    owner_id: int
    marketing_sponsor_id: int
    it_sponsor_id: int
    # Seeding only: monthly plan in cents, how it is spread over categories,
    # the last day money is spent (cancelled work stops early), and how far
    # actuals run over or under plan.
    monthly_budget_cents: int
    budget_mix: tuple[tuple[str, float], ...]
    spend_until: dt.date
    burn: float
    id: int | None = field(default=None)


def _day_between(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    if last <= first:
        return first
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def _months_after(day: dt.date, months: int) -> dt.date:
    """Roughly `months` later; dates only need to look plausible, not be calendar-exact."""
    return day + dt.timedelta(days=round(months * DAYS_PER_MONTH))


def _title(rng: random.Random, lane: str) -> str:
    if lane == Lane.FAST_LANE:
        title = f"{rng.choice(FAST_LANE_SUBJECTS)} {rng.choice(FAST_LANE_ACTIONS)}"
    else:
        title = f"{rng.choice(CORE_STACK_SUBJECTS)} {rng.choice(CORE_STACK_ACTIONS)}"
    qualifier = rng.random()
    if qualifier < 0.30:
        title += f" ({rng.choice(MARKETS)})"
    elif qualifier < 0.45:
        title += f" – {rng.choice(PHASES)}"
    return title


def _summary(rng: random.Random, lane: str) -> str:
    outcomes, means = (
        (FAST_LANE_OUTCOMES, FAST_LANE_MEANS) if lane == Lane.FAST_LANE else (CORE_STACK_OUTCOMES, CORE_STACK_MEANS)
    )
    verb, metric = rng.choice(outcomes)
    horizon = rng.choice(HORIZONS)
    if verb in ("Halve", "Retire"):
        return f"{verb} {metric} {horizon}, {rng.choice(means)}."
    return f"{verb} {metric} by {rng.randint(3, 35)}% {horizon}, {rng.choice(means)}."


def _marketing_share(rng: random.Random, lane: str) -> Decimal:
    """Round numbers are common in co-funding agreements, negotiated odd ones less so."""
    draw = rng.random()
    if draw < 0.05:
        return Decimal("0.00")
    if draw < 0.10:
        return Decimal("100.00")
    if draw < 0.30:
        return Decimal("50.00")
    marketing_heavy = lane == Lane.FAST_LANE
    if draw < 0.70:
        share = rng.choice((60, 70, 75, 80) if marketing_heavy else (20, 25, 30, 40))
        return Decimal(share).quantize(Decimal("0.01"))
    low, high = (50, 95) if marketing_heavy else (5, 50)
    cents = rng.randint(low * 100, high * 100)
    if rng.random() < 0.5:
        cents -= cents % 50  # 70.50, 33.00: halves are a frequent compromise
    return Decimal(cents).scaleb(-2)


def lane_assessment_answers(rng: random.Random, leaning: str) -> dict[str, str]:
    """Questionnaire answers (PRODUCT.md §2) that lean towards the lane `leaning`.

    The keys and values are the filing form's (initiatives.lane_assessment), so
    demo initiatives open cleanly in the form; the recommendation itself is
    always computed by `assess_lane`, never invented here.
    """
    fast = leaning == Lane.FAST_LANE

    def yes(probability: float) -> str:
        return "yes" if rng.random() < probability else "no"

    return {
        "customer_facing": yes(0.9 if fast else 0.3),
        "maturity": "experiment" if rng.random() < (0.7 if fast else 0.15) else "proven",
        "quick_time_to_market": yes(0.8 if fast else 0.2),
        "systems_of_record": yes(0.2 if fast else 0.9),
        "regulated_data": yes(0.15 if fast else 0.5),
        "lifespan": rng.choice(("short", "medium")) if fast else rng.choice(("medium", "long", "long")),
    }


def _dates(rng: random.Random, status: str, today: dt.date, window_start: dt.date) -> tuple[dt.date, dt.date]:
    """Start and end dates that fit the status: done work ended, drafts start later, and so on."""
    duration = rng.randint(3, 18)
    if status == Status.DONE:
        end = _day_between(rng, window_start, today - dt.timedelta(days=1))
        return end - dt.timedelta(days=round(duration * DAYS_PER_MONTH)), end
    if status == Status.IN_PROGRESS:
        start = _day_between(rng, _months_after(window_start, -6), today - dt.timedelta(days=7))
        end = max(_months_after(start, duration), today + dt.timedelta(days=rng.randint(14, 365)))
        return start, end
    if status == Status.APPROVED:
        start = _day_between(rng, today - dt.timedelta(days=45), today + dt.timedelta(days=90))
    elif status == Status.CANCELLED:
        start = _day_between(rng, _months_after(window_start, -3), today - dt.timedelta(days=30))
    elif status == Status.REJECTED:
        start = _day_between(rng, today - dt.timedelta(days=60), today + dt.timedelta(days=120))
    else:  # draft, submitted: planned to start later
        start = _day_between(rng, today + dt.timedelta(days=7), today + dt.timedelta(days=180))
    return start, _months_after(start, duration)


def initiative_plans(
    rng: random.Random,
    *,
    count: int,
    today: dt.date,
    window_start: dt.date,
    pm_ids: Sequence[int],
    marketing_sponsor_ids: Sequence[int],
    it_sponsor_ids: Sequence[int],
) -> list[InitiativePlan]:
    """`count` initiatives covering both lanes and every status (when count allows)."""
    statuses = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()), k=count)
    lanes = rng.choices((Lane.FAST_LANE, Lane.CORE_STACK), weights=(55, 45), k=count)
    # Even a tiny demo shows every status and both lanes, and has something in
    # progress to book actuals against.
    guaranteed = [Status.IN_PROGRESS, *(s for s in Status.values if s != Status.IN_PROGRESS)]
    for index, status in enumerate(guaranteed[:count]):
        statuses[index] = status
    if count >= 2:
        lanes[0], lanes[1] = Lane.FAST_LANE, Lane.CORE_STACK
    order = list(range(count))
    rng.shuffle(order)  # so the guaranteed ones do not all get the first codes

    plans = []
    for index in order:
        status, lane = statuses[index], lanes[index]
        start, end = _dates(rng, status, today, window_start)
        answers = lane_assessment_answers(rng, lane)
        recommended = assess_lane(answers).recommended
        category_weights = LANE_CATEGORY_WEIGHTS[lane]
        categories = sorted(
            set(rng.choices(list(category_weights), weights=list(category_weights.values()), k=rng.randint(1, 3)))
        )
        mix = [rng.uniform(0.5, 1.5) for _ in categories]
        total_mix = sum(mix)
        spend_until = end
        if status == Status.CANCELLED:
            spend_until = min(end, today - dt.timedelta(days=rng.randint(0, 120)))
        plans.append(
            InitiativePlan(
                title=_title(rng, lane),
                summary=_summary(rng, lane),
                lane=lane,
                status=status,
                start_date=start,
                end_date=end,
                marketing_share_pct=_marketing_share(rng, lane),
                health=rng.choices(HEALTHS, weights=HEALTH_WEIGHTS.get(status, DEFAULT_HEALTH_WEIGHTS))[0],
                lane_assessment=answers,
                lane_recommended=recommended,
                lane_justification="" if recommended == lane else rng.choice(LANE_JUSTIFICATIONS[lane]),
                owner_id=rng.choice(pm_ids),
                marketing_sponsor_id=rng.choice(marketing_sponsor_ids),
                it_sponsor_id=rng.choice(it_sponsor_ids),
                monthly_budget_cents=round(MONTHLY_BUDGET_CENTS * rng.lognormvariate(0.0, 0.8)),
                budget_mix=tuple(
                    (category, weight / total_mix) for category, weight in zip(categories, mix, strict=True)
                ),
                spend_until=spend_until,
                burn=rng.lognormvariate(0.0, 0.15),
            )
        )
    return plans


def platform_links(rng: random.Random, plans: Sequence[InitiativePlan]) -> list[tuple[int, int]]:
    """(fast-lane index, core-stack index) pairs: each fast-lane initiative builds on 0–3 core-stack ones."""
    core = [index for index, plan in enumerate(plans) if plan.lane == Lane.CORE_STACK]
    links = []
    for index, plan in enumerate(plans):
        if plan.lane != Lane.FAST_LANE or not core:
            continue
        count = min(len(core), rng.choices((0, 1, 2, 3), weights=(30, 40, 20, 10))[0])
        links.extend((index, platform) for platform in sorted(rng.sample(core, count)))
    return links


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
