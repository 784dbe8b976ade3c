"""The demo's outcome KPIs by lane and owning side: names, units, directions, believable baselines and targets.

What marketing and IT would agree to measure (PRODUCT.md §3b): conversion, repeat purchases, NPS or cost per
acquisition for marketing; p95 latency, uptime, cost to serve or incidents for IT. `demo.outcomes` draws
from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from initiatives.choices import Lane, Side
from outcomes.choices import Direction

UP, DOWN = Direction.UP, Direction.DOWN


@dataclass(frozen=True, slots=True)
class KpiTemplate:
    """A kind of KPI: its name, unit and direction, where baselines lie and how far targets reach."""

    name: str
    unit: str
    direction: str
    baseline: tuple[float, float]  # drawn uniformly between
    gain: tuple[float, float]  # the target's distance from the baseline: a fraction of it, or in the unit
    relative: bool
    places: int  # decimal places the KPI is measured to
    bounds: tuple[float, float]  # no measurement outside (a rate stays within 0–100 %)


PCT = (0.0, 100.0)
ANY = (0.0, 1e9)


def _t(name, unit, direction, baseline, gain, places, bounds=ANY, relative=True) -> KpiTemplate:
    return KpiTemplate(name, unit, direction, baseline, gain, relative, places, bounds)


# Per lane and owning side; names differ across the two sides of a lane (unique per initiative).
CATALOGUE: dict[tuple[str, str], tuple[KpiTemplate, ...]] = {
    (Lane.FAST_LANE, Side.MARKETING): (
        _t("Online conversion rate", "%", UP, (1.5, 4.0), (0.10, 0.35), 2, PCT),
        _t("Repeat purchase rate", "%", UP, (18, 35), (0.05, 0.20), 1, PCT),
        _t("Net promoter score", "points", UP, (5, 45), (4, 15), 0, (-100, 100), relative=False),
        _t("Cost per acquisition", "USD", DOWN, (25, 120), (0.10, 0.30), 2),
        _t("App store rating", "stars", UP, (3.2, 4.2), (0.2, 0.6), 1, (1, 5), relative=False),
        _t("Email click-through rate", "%", UP, (1.5, 4.5), (0.10, 0.30), 2, PCT),
        _t("Average order value", "USD", UP, (45, 140), (0.05, 0.15), 2),
        _t("Cart abandonment rate", "%", DOWN, (60, 80), (0.05, 0.15), 1, PCT),
        _t("30-day app retention", "%", UP, (15, 35), (0.10, 0.30), 1, PCT),
        _t("Loyalty sign-ups", "sign-ups a week", UP, (200, 3000), (0.15, 0.50), 0),
    ),
    (Lane.FAST_LANE, Side.IT): (
        _t("Page p95 latency", "ms", DOWN, (800, 2500), (0.20, 0.50), 0),
        _t("Checkout uptime", "%", UP, (99.0, 99.8), (0.10, 0.15), 2, PCT, relative=False),
        _t("Deploys a week", "deploys a week", UP, (1, 6), (2, 6), 0, relative=False),
        _t("Front-end error rate", "%", DOWN, (0.8, 3.0), (0.25, 0.60), 2, PCT),
        _t("Incidents", "incidents a month", DOWN, (4, 16), (0.25, 0.50), 0),
        _t("Cost to serve a visit", "USD", DOWN, (0.02, 0.09), (0.15, 0.35), 4),
    ),
    (Lane.CORE_STACK, Side.IT): (
        _t("API p95 latency", "ms", DOWN, (300, 1500), (0.20, 0.50), 0),
        _t("Uptime", "%", UP, (99.0, 99.8), (0.10, 0.15), 2, PCT, relative=False),
        _t("Cost to serve an order", "USD", DOWN, (1.5, 9.0), (0.10, 0.30), 2),
        _t("Priority-1 incidents", "incidents a month", DOWN, (4, 25), (0.25, 0.50), 0),
        _t("Deploys a week", "deploys a week", UP, (1, 5), (1, 5), 0, relative=False),
        _t("Month-end close", "days", DOWN, (6, 12), (0.20, 0.45), 1),
        _t("Licence spend", "USD a month", DOWN, (20_000, 250_000), (0.10, 0.30), 0),
        _t("Order-to-cash cycle time", "days", DOWN, (20, 45), (0.15, 0.35), 1),
    ),
    (Lane.CORE_STACK, Side.MARKETING): (
        _t("Time to launch a campaign", "days", DOWN, (10, 40), (0.25, 0.50), 1),
        _t("Customer record completeness", "%", UP, (60, 85), (0.05, 0.15), 1, PCT),
        _t("Net promoter score", "points", UP, (5, 45), (3, 12), 0, (-100, 100), relative=False),
        _t("Cost per acquisition", "USD", DOWN, (25, 120), (0.05, 0.20), 2),
        _t("Email click-through rate", "%", UP, (1.5, 4.5), (0.05, 0.20), 2, PCT),
        _t("Addressable audience", "contacts", UP, (50_000, 900_000), (0.10, 0.40), 0),
    ),
}
