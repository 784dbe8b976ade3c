"""The co-funding history of the demo initiatives: who agreed which share from which month (PRODUCT.md §2).

Pure, like the other generators: one `random.Random`, no database. Every initiative both
sponsors signed off has its first agreement from its start month with the share they
approved; about one in ten of them later moved the share once or twice (60 → 50, say),
each move an applied change proposal with its effective month, proposed by the PM or a
sponsor and approved by both sponsors. `demo.writers` inserts the proposals and the
agreements; the proposals' steps join the initiative's timeline.

A move is believable: it is approved while the initiative is approved or under way, at
least a week after the sign-off; it takes effect from the month it was approved in, one
of the next two, or (early in a month, before its close) the month before; never a
locked month, never the start month or after the end month.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from django.utils import timezone

from demo.initiatives import InitiativePlan
from demo.timelines import Timeline, TimelineEvent, office_time
from initiatives.agreements import share_from_timeline
from initiatives.choices import Action, Side
from portfolio.fiscal import add_months, month_start

SHARE_CHANGE_RATE = 0.10  # of the signed-off initiatives
SECOND_CHANGE_RATE = 0.3  # of those, how many moved the share twice
SHARE_STEPS = (5, 10, 10, 15, 20, 25)  # percentage points, round numbers mostly
PM_PROPOSES = 0.6  # otherwise a sponsor proposes (and so has approved it)
RETROACTIVE_UNTIL_DAY = 5  # early in a month, the previous month is not closed yet
MIN_DAYS_AFTER_SIGN_OFF = 7
MIN_DAYS_BETWEEN_CHANGES = 30
ATTEMPTS = 4  # draws of an approval day before giving up on a move

# Why the share moved, by direction: marketing takes more of the cost, or less.
REASONS_MARKETING_MORE = (
    "Marketing funds the personalisation phase from its campaign budget.",
    "Scope grew on the customer-facing side: marketing carries more of the cost.",
    "Media and agency work now dominate the spend.",
)
REASONS_MARKETING_LESS = (
    "After go-live IT takes over the run costs: rebalanced at the quarterly portfolio review.",
    "Platform work shared with other initiatives moves to IT's budget.",
    "Rebalanced at the quarterly portfolio review: the integration work is larger than planned.",
    "Licence costs move to IT's enterprise agreement.",
)


@dataclass(frozen=True, slots=True)
class ShareChange:
    """One applied share-change proposal: the new share, from which month, and its steps' times and people."""

    effective_from: dt.date
    marketing_share_pct: Decimal
    previous_share_pct: Decimal
    reason: str
    proposed_by_id: int
    proposed_at: dt.datetime
    marketing_approved_at: dt.datetime
    it_approved_at: dt.datetime

    @property
    def applied_at(self) -> dt.datetime:
        """The second sponsor's approval: the proposal was applied then (and the agreement signed)."""
        return max(self.marketing_approved_at, self.it_approved_at)


@dataclass(frozen=True, slots=True)
class ShareHistory:
    """A signed-off initiative's agreements: the first share from the start month, then its changes in order."""

    first_share_pct: Decimal
    changes: tuple[ShareChange, ...]

    def share_in_force(self, month: dt.date) -> Decimal:
        """The share of the latest agreement effective at or before `month` (before the first: the first).

        The app's one timeline rule (`initiatives.agreements.share_from_timeline`), on the seed's own records.
        """
        first = dt.date.min  # the first agreement: in force before its month too
        timeline = [(first, self.first_share_pct)]
        timeline += [(change.effective_from, change.marketing_share_pct) for change in self.changes]
        return share_from_timeline(timeline, month, default=self.first_share_pct)


def share_histories(
    rng: random.Random,
    plans: Sequence[InitiativePlan],
    timelines: Sequence[Timeline],
    *,
    now: dt.datetime,
    locked_months: frozenset[dt.date] = frozenset(),
) -> list[ShareHistory | None]:
    """Per plan, in order: its agreements' history when both sponsors signed it off, else None.

    About `SHARE_CHANGE_RATE` of the signed-off ones (at least one when any can) get one or two
    share changes; the others keep the share they were approved with.
    """
    tz = timezone.get_current_timezone()
    today = timezone.localdate(now, tz)
    signed = [index for index, timeline in enumerate(timelines) if timeline.it_approved_at is not None]
    histories: list[ShareHistory | None] = [None] * len(plans)
    for index in signed:
        histories[index] = ShareHistory(plans[index].marketing_share_pct, ())
    wanted = max(1, round(len(signed) * SHARE_CHANGE_RATE)) if signed else 0
    order = list(signed)
    rng.shuffle(order)
    for index in order:
        if not wanted:
            break
        count = 2 if rng.random() < SECOND_CHANGE_RATE else 1
        changes = _share_changes(rng, plans[index], timelines[index], count, today, tz, locked_months)
        if changes:
            histories[index] = ShareHistory(plans[index].marketing_share_pct, changes)
            wanted -= 1
    return histories


def _share_changes(
    rng: random.Random,
    plan: InitiativePlan,
    timeline: Timeline,
    count: int,
    today: dt.date,
    tz: dt.tzinfo,
    locked_months: frozenset[dt.date],
) -> tuple[ShareChange, ...]:
    signed_off = max(timeline.marketing_approved_at, timeline.it_approved_at)
    # A change waits for approval while the initiative is approved or in progress: it ends on
    # completion or cancellation (whose day is kept free), and before today.
    ended = [event.at for event in timeline.events if event.action in (Action.COMPLETE, Action.CANCEL)]
    last_day = min([today, *(timezone.localdate(at, tz) for at in ended)]) - dt.timedelta(days=1)
    first_day = timezone.localdate(signed_off, tz) + dt.timedelta(days=MIN_DAYS_AFTER_SIGN_OFF)
    first_month, end_month = month_start(plan.start_date), month_start(plan.end_date)
    share = plan.marketing_share_pct
    changes: list[ShareChange] = []
    for _ in range(count):
        change = _share_change(rng, plan, share, first_day, last_day, first_month, end_month, tz, locked_months)
        if change is None:
            break
        changes.append(change)
        share = change.marketing_share_pct
        first_day = timezone.localdate(change.applied_at, tz) + dt.timedelta(days=MIN_DAYS_BETWEEN_CHANGES)
        first_month = change.effective_from  # the next one takes effect later
    return tuple(changes)


def _share_change(
    rng: random.Random,
    plan: InitiativePlan,
    share: Decimal,
    first_day: dt.date,
    last_day: dt.date,
    after_month: dt.date,
    end_month: dt.date,
    tz: dt.tzinfo,
    locked_months: frozenset[dt.date],
) -> ShareChange | None:
    """One move of `share`, approved between `first_day` and `last_day`, effective after `after_month`."""
    span = (last_day - first_day).days - 7  # the proposal takes up to a week to be approved
    if span < 0:
        return None
    for _ in range(ATTEMPTS):
        proposed_on = first_day + dt.timedelta(days=rng.randint(0, span))
        applied_on = proposed_on + dt.timedelta(days=rng.randint(1, 7))
        answered_on = proposed_on + dt.timedelta(days=rng.randint(0, (applied_on - proposed_on).days - 1))
        current = month_start(applied_on)
        earliest = add_months(current, -1) if applied_on.day <= RETROACTIVE_UNTIL_DAY else current
        months = [
            month
            for month in (add_months(earliest, offset) for offset in range(4))
            if after_month < month <= min(end_month, add_months(current, 2)) and month not in locked_months
        ]
        # The day work started keeps its one event: the change's steps never crowd it.
        if months and plan.start_date not in (proposed_on, answered_on, applied_on):
            break
    else:
        return None
    effective_from = rng.choice(months)
    new_share = _moved_share(rng, share)
    reasons = REASONS_MARKETING_MORE if new_share > share else REASONS_MARKETING_LESS
    # The side that approves first: the proposing sponsor, or (a PM proposed) the first to answer.
    first_side = rng.choice((Side.MARKETING, Side.IT))
    sponsors = {Side.MARKETING: plan.marketing_sponsor_id, Side.IT: plan.it_sponsor_id}
    by_pm = rng.random() < PM_PROPOSES
    proposed_at = office_time(rng, proposed_on, tz)
    first_approval = proposed_at
    if by_pm:
        first_approval = max(office_time(rng, answered_on, tz), proposed_at + dt.timedelta(minutes=30))
    second_approval = office_time(rng, applied_on, tz)  # a later day: after the first approval
    other_side = Side.IT if first_side == Side.MARKETING else Side.MARKETING
    approvals = {first_side: first_approval, other_side: second_approval}
    return ShareChange(
        effective_from=effective_from,
        marketing_share_pct=new_share,
        previous_share_pct=share,
        reason=rng.choice(reasons),
        proposed_by_id=plan.owner_id if by_pm else sponsors[first_side],
        proposed_at=proposed_at,
        marketing_approved_at=approvals[Side.MARKETING],
        it_approved_at=approvals[Side.IT],
    )


def _moved_share(rng: random.Random, share: Decimal) -> Decimal:
    """A negotiated move: a round number of points up or down, staying within 0–100 %."""
    step = Decimal(rng.choice(SHARE_STEPS))
    down = share - step >= 0 and (share + step > 100 or rng.random() < 0.6)  # IT taking over is the commoner move
    return (share - step if down else share + step).quantize(Decimal("0.01"))


def with_share_changes(plan: InitiativePlan, timeline: Timeline, history: ShareHistory | None) -> Timeline:
    """`timeline` with each share change's steps (proposed, approved, applied) in it, in time order.

    The steps keep the initiative's status of their moment; `TimelineEvent.proposal` is the
    change's index in `history.changes`, so the writer can link the transition to its proposal.
    No step falls on the day of another event (see `_share_change`), so no time has to move:
    the proposal, the agreement and the timeline tell the same times.
    """
    if history is None or not history.changes:
        return timeline
    sponsors = {Side.MARKETING: plan.marketing_sponsor_id, Side.IT: plan.it_sponsor_id}
    added: list[tuple[dt.datetime, str, int, str, int]] = []  # at, action, by, reason, change index
    for number, change in enumerate(history.changes):
        approvals = sorted(
            [(change.marketing_approved_at, sponsors[Side.MARKETING]), (change.it_approved_at, sponsors[Side.IT])]
        )
        added.append((change.proposed_at, Action.PROPOSE_CHANGE, change.proposed_by_id, change.reason, number))
        if approvals[0][0] != change.proposed_at:  # the PM proposed: a sponsor approved first
            added.append((approvals[0][0], Action.APPROVE_CHANGE, approvals[0][1], "", number))
        added.append((approvals[1][0], Action.APPLY_CHANGE, approvals[1][1], "", number))
    merged = sorted(
        [(event.at, 0, event) for event in timeline.events] + [(entry[0], 1, entry) for entry in added],
        key=lambda item: (item[0], item[1]),
    )
    events: list[TimelineEvent] = []
    status = ""
    for _, kind, item in merged:
        if kind == 0:
            events.append(item)
            status = item.to_status
        else:
            _, action, by_id, reason, number = item
            events.append(TimelineEvent(action, status, status, by_id, item[0], reason, number))
    return replace(timeline, events=tuple(events))
