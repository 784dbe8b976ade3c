"""Reads of initiatives for pages and the API (HackSoft style: selectors).

Each function returns what one part of a page needs in a bounded number of
queries, whatever the portfolio size, and always scoped by the one policy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import BooleanField, Case, Count, DecimalField, Q, QuerySet, Value, When

from portfolio import plan_months, policy

from .choices import Health, Lane, ProposalStatus, Role, Status
from .lane_assessment import QUESTIONS
from .models import Initiative, InitiativeChangeProposal, InitiativeTransition
from .rules import finances_visible_q, visible_initiatives

User = get_user_model()
ZERO = Decimal("0.00")


# --- the plan (sum of budget lines) beside the estimate ---------------------------------------------
# Budget lines are budgets' (a layer above): budgets answers through portfolio.plan_months.


def plan_total_subquery(initiative_ref: str = "pk"):
    """The sum of the budget lines of the initiative `initiative_ref` points at (NULL when it has none)."""
    return plan_months.plan_total(initiative_ref)


def initiative_plan_total(*, initiative: Initiative) -> Decimal | None:
    """The initiative's whole plan (all its budget lines), or None before finance enters one (one query)."""
    return Initiative.objects.filter(pk=initiative.pk).values_list(plan_total_subquery(), flat=True).get()


def actual_to_date_subquery(initiative_ref: str = "pk", *, on: dt.date | None = None):
    """The sum of the `amount_reporting` of the initiative's expenses incurred up to `on` (default today;
    NULL when none). Expenses are budgets' too: asked through portfolio.plan_months."""
    return plan_months.actual_to_date(initiative_ref, on=on)


def with_plan_and_actual(queryset: QuerySet[Initiative], *, user) -> QuerySet[Initiative]:
    """`queryset` annotated with `planned_total` (all its budget lines) and `actual_to_date` (its expenses up to
    today), both NULL where `user` may not see the initiative's finances (`finances_shown` false, the rule
    `rules.finances_visible_q`) or there is none yet. Two correlated subqueries, which PostgreSQL evaluates
    for the rows a page returns only (after its ORDER BY … LIMIT)."""
    visible = finances_visible_q(user)
    if not visible:  # sees every initiative's finances: no CASE around the sums
        return queryset.annotate(
            finances_shown=Value(True), planned_total=plan_total_subquery(), actual_to_date=actual_to_date_subquery()
        )
    money = DecimalField(max_digits=16, decimal_places=2)
    return queryset.annotate(
        finances_shown=Case(When(visible, then=Value(True)), default=Value(False), output_field=BooleanField()),
        planned_total=Case(When(visible, then=plan_total_subquery()), default=None, output_field=money),
        actual_to_date=Case(When(visible, then=actual_to_date_subquery()), default=None, output_field=money),
    )


def page_with_plan_and_actual(
    queryset: QuerySet[Initiative], page: QuerySet[Initiative], *, user
) -> QuerySet[Initiative]:
    """The initiatives of `page` (a slice of `queryset`: one page of a list), in its order, with the plan and actual
    of `with_plan_and_actual`. Still one query: the sums sit in an outer query over the page's ids
    (`id IN (… LIMIT n OFFSET m)`), so they are taken for the page's rows only, never for the rows an OFFSET skips.
    """
    return with_plan_and_actual(queryset.filter(pk__in=page.values("pk")), user=user)


def initiative_queryset(*, user) -> QuerySet[Initiative]:
    """Every initiative `user` may see, with the people a list or page shows joined in."""
    queryset = Initiative.objects.select_related("owner", "marketing_sponsor", "it_sponsor")
    return visible_initiatives(user, queryset)


def initiative_detail_queryset(*, user) -> QuerySet[Initiative]:
    """As `initiative_queryset`, plus the people's profiles (their side) for the detail page."""
    return initiative_queryset(user=user).select_related(
        "owner__profile", "marketing_sponsor__profile", "it_sponsor__profile"
    )


def executives(*, side: str) -> QuerySet:
    """Active executives of one side: the people who may sponsor for it."""
    return (
        User.objects.filter(is_active=True, groups__name=Role.EXECUTIVE, profile__side=side)
        .order_by("first_name", "last_name", "username")
        .distinct()
    )


def executives_any_side() -> QuerySet:
    return (
        User.objects.filter(is_active=True, groups__name=Role.EXECUTIVE)
        .select_related("profile")
        .order_by("first_name", "last_name", "username")
        .distinct()
    )


def status_counts(queryset: QuerySet[Initiative]) -> dict[str, int]:
    """{status: count} of a (filtered) queryset in one GROUP BY query, no joins added."""
    rows = queryset.order_by().values_list("status").annotate(total=Count("pk"))
    counts = dict.fromkeys(Status.values, 0)
    counts.update(dict(rows))
    return counts


def awaiting_sign_off_q(user) -> Q:
    """Submitted initiatives that `user` sponsors and has not yet approved (cf. rules.awaits_sign_off)."""
    return Q(status=Status.SUBMITTED) & (
        Q(marketing_sponsor=user, marketing_approved_at__isnull=True) | Q(it_sponsor=user, it_approved_at__isnull=True)
    )


def pending_sign_offs(*, user) -> QuerySet[Initiative]:
    """Submitted initiatives that wait for `user`'s approval as a sponsor, oldest first."""
    if not policy.is_executive(user):
        return Initiative.objects.none()
    return (
        initiative_queryset(user=user)
        .filter(awaiting_sign_off_q(user))
        .annotate(planned_total=plan_total_subquery())
        .order_by("id")
    )


def pending_change_proposals(*, user) -> QuerySet[InitiativeChangeProposal]:
    """Pending changes of running initiatives that wait for `user`'s approval as a sponsor."""
    if not policy.is_executive(user):
        return InitiativeChangeProposal.objects.none()
    return (
        InitiativeChangeProposal.objects.filter(
            Q(initiative__marketing_sponsor=user, marketing_approved_at__isnull=True)
            | Q(initiative__it_sponsor=user, it_approved_at__isnull=True),
            status=ProposalStatus.PENDING,
            initiative__status__in=(Status.APPROVED, Status.IN_PROGRESS),
        )
        .select_related(
            "initiative",
            "initiative__marketing_sponsor",
            "initiative__it_sponsor",
            "proposed_by",
            "marketing_sponsor",
            "it_sponsor",
        )
        .annotate(initiative_planned_total=plan_total_subquery("initiative"))
        .order_by("proposed_at")
    )


def awaiting_count(*, user) -> int:
    """How many decisions wait for `user` (sign-offs plus change proposals): the navigation badge."""
    if not policy.is_executive(user):
        return 0
    return pending_sign_offs(user=user).count() + pending_change_proposals(user=user).count()


def initiative_timeline(*, initiative: Initiative, limit: int = 200) -> list[InitiativeTransition]:
    """The latest `limit` entries of the timeline, newest first."""
    return list(initiative.transitions.select_related("by").order_by("-at", "-id")[:limit])


def initiative_proposals(*, initiative: Initiative) -> list[InitiativeChangeProposal]:
    return list(
        initiative.change_proposals.select_related(
            "proposed_by",
            "marketing_sponsor",
            "it_sponsor",
            "marketing_approved_by",
            "it_approved_by",
            "decided_by",
        ).order_by("-proposed_at", "-id")
    )


def initiative_platform_lists(*, initiative: Initiative, user) -> tuple[list[Initiative], list[Initiative]]:
    """(the platforms it builds on, the initiatives that build on it) that `user` may see."""
    visible = visible_initiatives(user, Initiative.objects.all()).only("code", "title", "lane", "status")
    platforms = list(visible.filter(dependents=initiative).order_by("id"))
    dependents = list(visible.filter(platforms=initiative).order_by("id")[:50])
    return platforms, dependents


# --- change history (django-simple-history) ------------------------------------------

HISTORY_FIELDS = (
    "title",
    "summary",
    "owner",
    "marketing_sponsor",
    "it_sponsor",
    "lane",
    "status",
    "start_date",
    "end_date",
    "marketing_share_pct",
    "estimated_cost",
    "health",
    "lane_assessment",
    "lane_recommended",
    "lane_justification",
)
_USER_FIELDS = {"owner", "marketing_sponsor", "it_sponsor"}
_CHOICE_LABELS = {
    "lane": dict(Lane.choices),
    "lane_recommended": dict(Lane.choices),
    "status": dict(Status.choices),
    "health": dict(Health.choices),
}


@dataclass
class HistoryEntry:
    at: dt.datetime
    by: object
    kind: str  # created, changed
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (label, before, after)


def _label(name: str) -> str:
    if name == "platforms":
        return "Platforms"
    if name == "marketing_share_pct":
        return "Marketing's share"
    if name == "estimated_cost":
        return "Estimated cost"
    return str(Initiative._meta.get_field(name).verbose_name).capitalize().replace("It sponsor", "IT sponsor")


def _assessment_text(answers: dict | None) -> str:
    if not answers:
        return "—"
    parts = []
    for question in QUESTIONS:
        value = answers.get(question.key)
        if value:
            parts.append(f"{question.text} {dict(question.choices).get(value, value)}")
    return "; ".join(parts) or "—"


def initiative_history(*, initiative: Initiative, limit: int = 30) -> list[HistoryEntry]:
    """The latest `limit` changes, newest first, with before/after values in words (four queries)."""
    history_model = Initiative.history.model
    records = list(
        history_model.objects.filter(id=initiative.pk)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[: limit + 1]
    )
    if not records:
        return []
    platform_model = history_model.platforms.model
    platforms_by_record: dict[int, set[int]] = {record.history_id: set() for record in records}
    for history_id, platform_id in platform_model.objects.filter(history_id__in=platforms_by_record).values_list(
        "history_id", "to_initiative_id"
    ):
        platforms_by_record[history_id].add(platform_id)
    codes = dict(Initiative.objects.filter(pk__in=set().union(*platforms_by_record.values())).values_list("pk", "code"))
    user_ids = {getattr(r, f"{name}_id") for r in records for name in _USER_FIELDS}
    names = {
        u.pk: (u.get_full_name() or u.get_username())
        for u in User.objects.filter(pk__in=user_ids).only("username", "first_name", "last_name")
    }

    def show(record, name: str) -> str:
        if name in _USER_FIELDS:
            return names.get(getattr(record, f"{name}_id"), "—")
        value = getattr(record, name)
        if name in _CHOICE_LABELS:
            return _CHOICE_LABELS[name].get(value, value) or "—"
        if name == "lane_assessment":
            return _assessment_text(value)
        if name == "marketing_share_pct":
            return f"{value} %"
        if name == "estimated_cost" and value is not None:
            return f"{value:,.2f}"
        if value in (None, ""):
            return "—"
        return str(value)

    def show_platforms(record) -> str:
        found = sorted(codes.get(pk, f"#{pk}") for pk in platforms_by_record[record.history_id])
        return ", ".join(found) or "—"

    entries = []
    for newer, older in zip(records, [*records[1:], None], strict=True):
        if older is None:
            if len(records) <= limit:  # the very first record: the initiative was filed
                entries.append(HistoryEntry(at=newer.history_date, by=newer.history_user, kind="created"))
            break
        changes = [
            (_label(name), show(older, name), show(newer, name))
            for name in HISTORY_FIELDS
            if show(older, name) != show(newer, name)
        ]
        if show_platforms(older) != show_platforms(newer):
            changes.append((_label("platforms"), show_platforms(older), show_platforms(newer)))
        if changes:
            entries.append(HistoryEntry(at=newer.history_date, by=newer.history_user, kind="changed", changes=changes))
    return entries
