"""Believable demo initiatives: titles, summaries, lanes, statuses, dates, shares, and their platform links.

Pure: functions take a `random.Random` and plain values and return plans, never
touching the database (`demo.writers` inserts them). Every draw comes from the one
generator in a fixed order, so the same seed always yields the same portfolio.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from budgets.choices import Category
from initiatives.choices import Health, Lane, Status
from initiatives.lane_assessment import assess_lane

DAYS_PER_MONTH = 30.44


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
    # What the PM expected it to cost (None: a draft without an estimate yet).
    estimated_cost: Decimal | None = None


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
        plans[-1].estimated_cost = estimated_cost(plans[-1], salt=index)
    return plans


ESTIMATE_ROUNDING_CENTS = 100_000  # PMs estimate to the nearest thousand
DRAFTS_WITHOUT_ESTIMATE = 0.4  # a draft may leave it out; every submitted initiative has one


def _month_count(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def estimated_cost(plan: InitiativePlan, *, salt: int) -> Decimal | None:
    """What the PM filed as the whole initiative's cost: its monthly plan over its months, off by −20 % to
    +25 % (some estimates over the plan, some under), to the nearest thousand; None for some drafts.

    Drawn from its own generator, seeded by the plan itself, so adding estimates leaves every other
    draw of the seed (titles, budgets, actuals) exactly as it was.
    """
    seed = f"estimate|{salt}|{plan.title}|{plan.start_date}|{plan.monthly_budget_cents}"
    own = random.Random(seed)  # noqa: S311 - demo data, not secrets
    if plan.status == Status.DRAFT and own.random() < DRAFTS_WITHOUT_ESTIMATE:
        return None
    cents = plan.monthly_budget_cents * _month_count(plan.start_date, plan.end_date) * own.uniform(0.8, 1.25)
    rounded = max(1, round(cents / ESTIMATE_ROUNDING_CENTS)) * ESTIMATE_ROUNDING_CENTS
    return Decimal(rounded).scaleb(-2).quantize(Decimal("0.01"))


# Fast-lane teams mostly build on platforms that will be there: approved, under way or delivered, not
# red, and (unless delivered) running at least as long as they do. About one in ten picks from every
# core-stack initiative instead, so the demo shows some work resting on a risky platform (cancelled,
# rejected, red, or ending first: initiatives.platforms) without it being most of the fast lane.
SOUND_PLATFORM_STATUSES = frozenset({Status.APPROVED, Status.IN_PROGRESS})
ANY_PLATFORM_SHARE = 0.1


def platform_links(rng: random.Random, plans: Sequence[InitiativePlan]) -> list[tuple[int, int]]:
    """(fast-lane index, core-stack index) pairs: each fast-lane initiative builds on 0–3 core-stack ones."""
    core = [index for index, plan in enumerate(plans) if plan.lane == Lane.CORE_STACK]
    sound = [index for index in core if plans[index].health != Health.RED]
    delivered = [index for index in sound if plans[index].status == Status.DONE]
    running = sorted(
        (index for index in sound if plans[index].status in SOUND_PLATFORM_STATUSES),
        key=lambda index: plans[index].end_date,
    )
    running_ends = [plans[index].end_date for index in running]
    links = []
    for index, plan in enumerate(plans):
        if plan.lane != Lane.FAST_LANE or not core:
            continue
        count = min(len(core), rng.choices((0, 1, 2, 3), weights=(30, 40, 20, 10))[0])
        # The delivered platforms, then the running ones that end on or after this initiative.
        first = bisect.bisect_left(running_ends, plan.end_date)
        outlasting = len(running) - first
        if rng.random() < ANY_PLATFORM_SHARE or len(delivered) + outlasting < count:
            chosen = rng.sample(core, count)
        else:
            positions = rng.sample(range(len(delivered) + outlasting), count)
            chosen = [delivered[p] if p < len(delivered) else running[first + p - len(delivered)] for p in positions]
        links.extend((index, platform) for platform in sorted(chosen))
    return links
