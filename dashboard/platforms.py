"""The dashboard's architecture cards (issue 18): the digital islands and the platforms the fast lane rests on.

The rules are `initiatives.platforms` (platform risk, digital islands); this module reads what the
cards show, each in one query, with the dashboard's filters. The whole page is `dashboard.selectors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, Subquery, Value, When, Window
from django.db.models.functions import Coalesce, RowNumber

from dashboard.figures import MONEY
from dashboard.filters import DashboardFilters, filtered_initiatives, split_queryset
from dashboard.rollup import ZERO, as_money
from initiatives.choices import Health, Lane, Status
from initiatives.models import Initiative
from initiatives.platforms import NEVER_BUILT, PlatformRisk, digital_island_q, link_risk_q, platform_risk_totals
from initiatives.rules import visible_initiatives
from portfolio import policy
from split.selectors import MoneySum


def digital_islands(filters: DashboardFilters, *, user, limit: int = 5) -> list[Initiative]:
    """Digital islands (`initiatives.platforms.digital_island_q`), biggest spend in the period first.

    Each has `period_actual`: its actual spend in the filtered period (one query).
    """
    period = split_queryset(filters).filter(initiative_id=OuterRef("pk")).values("initiative_id")
    spend = period.annotate(total=MoneySum("actual_total")).values("total")
    initiatives = list(
        filtered_initiatives(filters, user)
        .filter(digital_island_q())
        .select_related("owner")
        .only(
            "code",
            "title",
            "status",
            "health",
            "marketing_share_pct",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
        )
        .annotate(period_actual=Coalesce(Subquery(spend, output_field=MONEY), Value(ZERO), output_field=MONEY))
        .order_by("-period_actual", "pk")[:limit]
    )
    for initiative in initiatives:
        initiative.period_actual = as_money(initiative.period_actual)
    return initiatives


# Platforms the map ranks as carriers: approved by both sponsors and not abandoned (draft and
# submitted ones are plans; cancelled and rejected ones carry nothing, the work on them is at risk).
RANKED_PLATFORM_STATUSES = (Status.APPROVED, Status.IN_PROGRESS, Status.DONE)
AT_RISK_GROUP, CARRIER_GROUP, UNRANKED_GROUP = 0, 1, 2


@dataclass
class PlatformMap:
    """The platforms the fast lane rests on, and how many fast-lane initiatives are at platform risk (and why)."""

    platforms: list[dict[str, Any]]
    at_risk: int = 0  # fast-lane initiatives resting on a risky platform (`initiatives.platforms`)
    by_cause: dict[str, int] = field(default_factory=dict)  # one initiative may count under several causes


def platform_map(filters: DashboardFilters, *, user, limit: int = 5) -> PlatformMap:
    """The core-stack platforms the fast lane rests on: first those putting work at risk, then the carriers;
    and how many of the dependents are at platform risk, per cause (one query).

    Dependents are fast-lane initiatives that are not cancelled or rejected, among those the
    filters select as the initiative list and the counts select them (with the core-stack lane
    filter, none). Up to `limit` platforms through which open dependents are at
    platform risk (`initiatives.platforms.link_risk_q`), most at risk first, whatever their status;
    then up to `limit` other approved, in-progress or done platforms, most dependents first. Each
    entry has the platform's `code`, `title`, `status`, `health`, `end_date`,
    `fast_lane_dependents`, `at_risk`, `ends_first` (the open dependents it ends before), `red` and
    `risky` (some dependents are at risk through it). The counts (`initiatives.platforms.platform_risk_totals`)
    ride along as a scalar subquery the database computes once: none without a platform row, and
    any dependent at risk puts its platform among the rows.
    """
    # From the dependents' side: the filters apply to the table scanned, joined to their platforms
    # (one join: the platform conditions sit in one filter() call, or Django would join twice).
    dependents = filtered_initiatives(filters, user)
    platform_q = Q(platforms__lane=Lane.CORE_STACK)
    if not policy.sees_everything(user):
        platform_q &= Q(platforms__in=visible_initiatives(user, Initiative.objects.all()))
    links = dependents.filter(platform_q, lane=Lane.FAST_LANE).exclude(status__in=NEVER_BUILT)
    columns = ("code", "title", "status", "health", "end_date")
    group = Case(
        When(Q(at_risk__gt=0), then=Value(AT_RISK_GROUP)),
        When(Q(platforms__status__in=RANKED_PLATFORM_STATUSES), then=Value(CARRIER_GROUP)),
        default=Value(UNRANKED_GROUP),
        output_field=IntegerField(),
    )
    rank = Window(
        RowNumber(),
        partition_by=[F("group")],
        order_by=[F("at_risk").desc(), F("fast_lane_dependents").desc(), F("platforms").asc()],
    )
    rows = (
        links.order_by()
        .values("platforms", *(f"platforms__{column}" for column in columns))
        .annotate(
            fast_lane_dependents=Count("pk"),
            at_risk=Count("pk", filter=link_risk_q(from_dependent=True)),
            ends_first=Count("pk", filter=link_risk_q(PlatformRisk.ENDS_FIRST, from_dependent=True)),
        )
        .annotate(group=group)
        .annotate(rank=rank)
        .filter(group__lt=UNRANKED_GROUP, rank__lte=limit)
        .annotate(risk_totals=platform_risk_totals(dependents))
    )
    platforms, totals = [], {}
    for row in rows:
        totals = row["risk_totals"] or {}
        platform = {column: row[f"platforms__{column}"] for column in columns}
        platform.update(
            fast_lane_dependents=row["fast_lane_dependents"],
            at_risk=row["at_risk"],
            ends_first=row["ends_first"],
            risky=row["group"] == AT_RISK_GROUP,
            red=platform["health"] == Health.RED,
            rank=(row["group"], row["rank"]),
        )
        platforms.append(platform)
    platforms.sort(key=lambda platform: platform.pop("rank"))
    top = max((platform["fast_lane_dependents"] for platform in platforms), default=0)
    for platform in platforms:  # the length of its bar: its dependents against the most any has
        platform["bar_pct"] = platform["fast_lane_dependents"] * 100 // top if top else 0
    by_cause = {cause: int(totals.get(cause) or 0) for cause in PlatformRisk.values}
    return PlatformMap(platforms=platforms, at_risk=int(totals.get("any") or 0), by_cause=by_cause)
