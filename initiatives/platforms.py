"""Fast-lane work and the platforms it builds on: platform risk and digital islands (PRODUCT.md §2).

A *platform* of an initiative is a core-stack initiative it builds on (`Initiative.platforms`;
a link to an initiative that is not core stack is no platform). Both rules live here only:
the initiative list's filters (`initiatives.filtersets`, hence `/api/initiatives/` too), the
dashboard's counts, cards and platform map, and the initiative page all ask this module.

**Platform risk.** A fast-lane initiative rests on a risky platform when one of its platforms

- is cancelled (`cancelled`),
- is rejected (`rejected`),
- has red health (`red`; a cancelled or rejected platform counts for that reason only), or
- ends before it does (`ends_first`: platform.end_date < initiative.end_date, for a platform
  still to be delivered — draft to in progress; a done platform has been delivered, and a
  cancelled or rejected one counts for that reason).

Only *open* initiatives are at risk (draft, submitted, approved, in progress): cancelled and
rejected work is never built, and done work no longer rests on anything.

**Digital island.** A fast-lane initiative marketing funds at least `DIGITAL_ISLAND_SHARE_PCT`
per cent of (the share in force today, `Initiative.marketing_share_pct`) that builds on no
core-stack platform, and is neither cancelled nor rejected.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import JSONObject

from .choices import Health, Lane, Status
from .models import Initiative

# Initiatives that can be at platform risk: work still to be done.
OPEN_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.IN_PROGRESS)
# Initiatives that never got built: neither islands nor at risk.
NEVER_BUILT = (Status.CANCELLED, Status.REJECTED)


class PlatformRisk(models.TextChoices):
    """Why a platform puts the fast-lane work resting on it at risk (the list filter's values)."""

    CANCELLED = "cancelled", "Platform cancelled"
    REJECTED = "rejected", "Platform rejected"
    RED = "red", "Platform health red"
    ENDS_FIRST = "ends_first", "Platform ends first"


# Short words for a badge next to a platform.
RISK_WORDS = {
    PlatformRisk.CANCELLED: "cancelled",
    PlatformRisk.REJECTED: "rejected",
    PlatformRisk.RED: "red health",
    PlatformRisk.ENDS_FIRST: "ends first",
}


def _links():
    return Initiative.platforms.through.objects.filter(to_initiative__lane=Lane.CORE_STACK)


def _cause_q(cause: str, dependent_end, platform: str = "to_initiative__") -> Q:
    """The one definition of each cause, on a platform link (`to_initiative` is the platform).

    `dependent_end` is the dependent's end date: `F("from_initiative__end_date")` on the links
    themselves; from the dependent's side (`Initiative.objects…` joined to its platforms) the
    platform is `platform="platforms__"` and the end `F("end_date")`.
    """
    if cause == PlatformRisk.CANCELLED:
        return Q(**{f"{platform}status": Status.CANCELLED})
    if cause == PlatformRisk.REJECTED:
        return Q(**{f"{platform}status": Status.REJECTED})
    if cause == PlatformRisk.RED:
        return Q(**{f"{platform}health": Health.RED}) & ~Q(**{f"{platform}status__in": NEVER_BUILT})
    if cause == PlatformRisk.ENDS_FIRST:
        return Q(**{f"{platform}status__in": OPEN_STATUSES, f"{platform}end_date__lt": dependent_end})
    raise ValueError(f"Unknown platform risk {cause!r}.")


def _risky_link_q(dependent_end, cause: str | None = None, platform: str = "to_initiative__") -> Q:
    causes = [cause] if cause else PlatformRisk.values
    condition = Q()
    for one in causes:
        condition |= _cause_q(one, dependent_end, platform)
    return condition


def platform_risk_q(cause: str | None = None) -> Q:
    """On `Initiative`: fast lane, open, and resting on a risky platform (for `cause`, or any of the four).

    An uncorrelated `pk IN (…)`: the database reads the risky links once and looks each initiative
    up in them (hashed), where a correlated EXISTS would probe the links once per fast-lane
    initiative. The list and the API filter with it; the dashboard counts the same rule, all five
    at once, with `platform_risk_totals` (tested to agree).
    """
    risky = _links().filter(_risky_link_q(F("from_initiative__end_date"), cause)).values("from_initiative_id")
    return Q(lane=Lane.FAST_LANE, status__in=OPEN_STATUSES) & Q(pk__in=risky)


@dataclass(frozen=True)
class RiskyPlatform:
    """One risky platform of one initiative, and why."""

    initiative_id: int
    platform_id: int
    code: str
    title: str
    status: str
    health: str
    end_date: dt.date
    causes: tuple[str, ...]

    @property
    def words(self) -> str:
        """`cancelled`, `red health, ends 31 Mar 2027, first`: for a badge."""
        words = []
        for cause in self.causes:
            if cause == PlatformRisk.ENDS_FIRST:
                words.append(f"ends {self.end_date:%-d %b %Y}, first")
            else:
                words.append(RISK_WORDS[PlatformRisk(cause)])
        return ", ".join(words)


def platform_risks(initiatives: Iterable[Initiative | int]) -> dict[int, list[RiskyPlatform]]:
    """Per initiative id, its risky platforms and the causes of each (one query).

    Only initiatives at platform risk (`platform_risk_q`) have an entry.
    """
    ids = [item if isinstance(item, int) else item.pk for item in initiatives]
    if not ids:
        return {}
    dependent_end = F("from_initiative__end_date")
    flags = {
        f"is_{cause}": ExpressionWrapper(_cause_q(cause, dependent_end), output_field=BooleanField())
        for cause in PlatformRisk.values
    }
    rows = (
        _links()
        .filter(
            from_initiative_id__in=ids,
            from_initiative__lane=Lane.FAST_LANE,
            from_initiative__status__in=OPEN_STATUSES,
        )
        .filter(_risky_link_q(dependent_end))
        .annotate(**flags)
        .values(
            "from_initiative_id",
            "to_initiative_id",
            "to_initiative__code",
            "to_initiative__title",
            "to_initiative__status",
            "to_initiative__health",
            "to_initiative__end_date",
            *flags,
        )
        .order_by("from_initiative_id", "to_initiative_id")
    )
    found: dict[int, list[RiskyPlatform]] = defaultdict(list)
    for row in rows:
        found[row["from_initiative_id"]].append(
            RiskyPlatform(
                initiative_id=row["from_initiative_id"],
                platform_id=row["to_initiative_id"],
                code=row["to_initiative__code"],
                title=row["to_initiative__title"],
                status=row["to_initiative__status"],
                health=row["to_initiative__health"],
                end_date=row["to_initiative__end_date"],
                causes=tuple(cause for cause in PlatformRisk.values if row[f"is_{cause}"]),
            )
        )
    return dict(found)


def mark_risky_platforms(shown: Iterable[tuple[Initiative, list[Initiative]]]) -> dict[int, int]:
    """Give each platform shown beside an initiative its `risk` (a `RiskyPlatform`, or None) and return,
    per initiative, how many of its shown platforms are risky (one query, none when nothing is shown).

    `shown` pairs each initiative with the platforms its viewer may see: a platform hidden from the
    viewer is never counted (the initiative page and the roadmap).
    """
    shown = [(initiative, list(platforms)) for initiative, platforms in shown]
    with_platforms = [initiative for initiative, platforms in shown if platforms]
    risks = platform_risks(with_platforms) if with_platforms else {}
    counts = {}
    for initiative, platforms in shown:
        causes = {risk.platform_id: risk for risk in risks.get(initiative.pk, ())}
        for platform in platforms:
            platform.risk = causes.get(platform.pk)  # None: not a risk to this initiative
        counts[initiative.pk] = sum(1 for platform in platforms if platform.risk is not None)
    return counts


def link_risk_q(cause: str | None = None, *, from_dependent: bool = False) -> Q:
    """On a platform link (`Initiative.platforms.through`): its dependent is at risk through this platform.

    The dependent is fast lane and open, and the platform is risky for `cause` (or any of the
    four): the rule of `platform_risk_q`, one link at a time (for the platform map's counts).
    `from_dependent=True` says the same on `Initiative` joined to its `platforms`.
    """
    if from_dependent:
        dependent, platform, dependent_end = "", "platforms__", F("end_date")
    else:
        dependent, platform, dependent_end = "from_initiative__", "to_initiative__", F("from_initiative__end_date")
    return Q(
        **{
            f"{dependent}lane": Lane.FAST_LANE,
            f"{dependent}status__in": OPEN_STATUSES,
            f"{platform}lane": Lane.CORE_STACK,
        }
    ) & _risky_link_q(dependent_end, cause, platform)


def platform_risk_totals(dependents: QuerySet[Initiative]) -> Subquery:
    """How many of `dependents` rest on a risky platform, `any` and per cause: one JSON object.

    The rule of `platform_risk_q` (tested to agree), counted over the dependents joined to their
    platforms in one pass, as a scalar subquery: another query (the platform map) carries it, and
    the database computes it once for that query.
    """
    at_risk = dependents.order_by().filter(link_risk_q(from_dependent=True))
    counts = {"any": Count("pk", distinct=True)}
    for cause in PlatformRisk.values:
        counts[cause] = Count("pk", distinct=True, filter=link_risk_q(cause, from_dependent=True))
    # A constant to "group" by: one row, the whole set.
    whole = at_risk.annotate(whole=Value(1, output_field=IntegerField())).values("whole")
    return Subquery(whole.annotate(totals=JSONObject(**counts)).values("totals"), output_field=JSONField())


# --- digital islands ---------------------------------------------------------------------


def island_share_pct() -> Decimal:
    """The setting `DIGITAL_ISLAND_SHARE_PCT`, read when asked (so a test may override it)."""
    return Decimal(settings.DIGITAL_ISLAND_SHARE_PCT)


def digital_island_q() -> Q:
    """On `Initiative`: a digital island (fast lane, marketing's share ≥ the setting, on no core-stack platform)."""
    # Correlated: the database asks only for the (few) fast-lane initiatives marketing funds that much.
    core_platform = _links().filter(from_initiative=OuterRef("pk"))
    return (
        Q(lane=Lane.FAST_LANE, marketing_share_pct__gte=island_share_pct())
        & ~Q(status__in=NEVER_BUILT)
        & ~Q(Exists(core_platform))
    )


# --- the initiative list's filters ------------------------------------------------------------

LIST_FILTERS = ("platform_risk", "digital_island")  # initiatives.filtersets; the dashboard links to them


def list_filter_notes(cleaned_data: dict) -> list[dict[str, str]]:
    """The platform-risk and digital-island filters in force on the initiative list, each in words."""
    notes = []
    risk = cleaned_data.get("platform_risk")
    if risk:
        cause = "" if risk == "1" else f" ({PlatformRisk(risk).label.lower()})"
        notes.append(
            {
                "name": "platform_risk",
                "value": risk,
                "text": f"Open fast-lane initiatives resting on a risky platform{cause}: a core-stack platform "
                "that is cancelled, rejected, red, or ends before they do.",
            }
        )
    if cleaned_data.get("digital_island"):
        notes.append(
            {
                "name": "digital_island",
                "value": "1",
                "text": f"Digital islands: fast-lane initiatives marketing funds at least {island_share_pct()} % "
                "of (today's share) that build on no core-stack platform, not cancelled or rejected.",
            }
        )
    return notes
