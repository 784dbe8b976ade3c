"""Inserting the generated portfolio: initiatives, platform links, change proposals, timelines, co-funding
agreements, FX rates, budget lines, expenses.

COPY on PostgreSQL, bulk_create elsewhere (`demo.bulk`). The rows come from the pure
generators (`demo.initiatives`, `demo.timelines`, `demo.finance`) and are streamed,
never held in one list.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from itertools import batched

from django.db import connection

from budgets.models import BudgetLine, Expense, FxRate
from demo.agreements import ShareHistory
from demo.bulk import (
    BULK_BATCH_ROWS,
    CsvQuoted,
    IsoDates,
    IsoTimes,
    bulk_create_batched,
    cents_text,
    copy_lines,
    progress_bar,
)
from demo.finance import RATE_SCALE, BudgetLineRow, ErpImportTimes, ExpenseRow
from demo.initiatives import InitiativePlan
from demo.timelines import Timeline
from initiatives.choices import ProposalStatus
from initiatives.models import CoFundingAgreement, Initiative, InitiativeChangeProposal, InitiativeTransition
from portfolio.fiscal import month_start

EXPENSE_SOURCE = "erp"
ProposalKey = tuple[int, int]  # (initiative id, index of the share change in its history)


def fx_rates_store(
    generated: dict[str, list[int]], months: Sequence[dt.date]
) -> tuple[list[FxRate], dict[str, list[int]]]:
    """Insert the generated rates where none exist; return the new ones and the rates in force (× 10⁸).

    Rates already in the database win: expenses must convert at the stored
    rate of their currency and month.
    """
    existing = {
        (currency, month): rate
        for currency, month, rate in FxRate.objects.filter(currency__in=generated, month__in=months).values_list(
            "currency", "month", "rate"
        )
    }
    new_rates = [
        FxRate(currency=currency, month=month, rate=Decimal(scaled).scaleb(-8))
        for currency, series in generated.items()
        for month, scaled in zip(months, series, strict=True)
        if (currency, month) not in existing
    ]
    new_rates = FxRate.objects.bulk_create(new_rates)
    in_force = {
        currency: [
            int(existing[currency, month] * RATE_SCALE) if (currency, month) in existing else scaled
            for month, scaled in zip(months, series, strict=True)
        ]
        for currency, series in generated.items()
    }
    return new_rates, in_force


def initiatives_insert(
    plans: Sequence[InitiativePlan], codes: Sequence[str], timelines: Sequence[Timeline], *, progress: bool
) -> None:
    """Insert the initiatives (COPY on PostgreSQL, bulk_create elsewhere) and note their ids on the plans.

    Each is dated by its timeline: created when filed, last updated at its
    latest event, signed off when its sponsors approved.
    """
    rows = zip(plans, codes, timelines, strict=True)
    if connection.vendor == "postgresql":

        def iso(moment: dt.datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        def lines() -> Iterator[str]:
            # csv.writer quotes titles and JSON properly; quoting every field
            # but None keeps empty strings from reading as NULL, and None as NULL.
            buffer = io.StringIO()
            writer = csv.writer(buffer, quoting=csv.QUOTE_NOTNULL, lineterminator="\n")
            for plan, code, timeline in rows:
                writer.writerow(
                    (
                        code,
                        plan.title,
                        plan.summary,
                        plan.owner_id,
                        plan.marketing_sponsor_id,
                        plan.it_sponsor_id,
                        plan.lane,
                        plan.status,
                        plan.start_date.isoformat(),
                        plan.end_date.isoformat(),
                        plan.marketing_share_pct,
                        plan.estimated_cost,
                        plan.health,
                        json.dumps(plan.lane_assessment),
                        plan.lane_recommended,
                        plan.lane_justification,
                        iso(timeline.marketing_approved_at),
                        iso(timeline.it_approved_at),
                        timeline.filed_at.isoformat(),
                        timeline.last_event_at.isoformat(),
                    )
                )
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()

        columns = (
            "code",
            "title",
            "summary",
            "owner_id",
            "marketing_sponsor_id",
            "it_sponsor_id",
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
            "marketing_approved_at",
            "it_approved_at",
            "created_at",
            "updated_at",
        )
        copy_lines(Initiative, columns, lines(), "Initiatives", len(plans), progress)
    else:
        objects = (
            Initiative(
                code=code,
                title=plan.title,
                summary=plan.summary,
                owner_id=plan.owner_id,
                marketing_sponsor_id=plan.marketing_sponsor_id,
                it_sponsor_id=plan.it_sponsor_id,
                lane=plan.lane,
                status=plan.status,
                start_date=plan.start_date,
                end_date=plan.end_date,
                marketing_share_pct=plan.marketing_share_pct,
                estimated_cost=plan.estimated_cost,
                health=plan.health,
                lane_assessment=plan.lane_assessment,
                lane_recommended=plan.lane_recommended,
                lane_justification=plan.lane_justification,
            )
            for plan, code, _ in rows
        )
        bulk_create_batched(Initiative, objects, "Initiatives", len(plans), progress)
    ids: dict[str, int] = {}
    for batch in batched(codes, 900):  # under SQLite's limit of bound parameters
        ids.update(Initiative.objects.filter(code__in=batch).values_list("code", "pk"))
    for plan, code in zip(plans, codes, strict=True):
        plan.id = ids[code]
    if connection.vendor != "postgresql":
        # bulk_create stamps created_at and updated_at with the clock (auto_now_add,
        # auto_now); bulk_update writes the timeline's times as they are.
        dated = (
            Initiative(
                pk=plan.id,
                created_at=timeline.filed_at,
                updated_at=timeline.last_event_at,
                marketing_approved_at=timeline.marketing_approved_at,
                it_approved_at=timeline.it_approved_at,
            )
            for plan, timeline in zip(plans, timelines, strict=True)
        )
        fields = ["created_at", "updated_at", "marketing_approved_at", "it_approved_at"]
        for batch in batched(dated, BULK_BATCH_ROWS):
            Initiative.objects.bulk_update(batch, fields)


def platform_links_insert(plans: Sequence[InitiativePlan], links: Sequence[tuple[int, int]]) -> int:
    through = Initiative.platforms.through
    rows = (through(from_initiative_id=plans[fast].id, to_initiative_id=plans[core].id) for fast, core in links)
    for batch in batched(rows, 5_000):
        through.objects.bulk_create(batch)
    return len(links)


def next_external_ref_number() -> int:
    """Continue after the highest demo ERP reference, so seeding twice never collides."""
    last = (
        Expense.objects.filter(source=EXPENSE_SOURCE, external_ref__regex=r"^ERP-[0-9]{9}$")
        .order_by("-external_ref")
        .values_list("external_ref", flat=True)
        .first()
    )
    return int(last.removeprefix("ERP-")) + 1 if last else 1


def proposals_insert(
    plans: Sequence[InitiativePlan], histories: Sequence[ShareHistory | None]
) -> dict[ProposalKey, int]:
    """Insert each share change as an applied change proposal; return their ids by (initiative id, change index).

    A few per hundred initiatives: bulk_create, which gives the ids back (the timeline's steps
    and the agreements point at them).
    """
    keys: list[ProposalKey] = []
    proposals: list[InitiativeChangeProposal] = []
    for plan, history in zip(plans, histories, strict=True):
        for number, change in enumerate(history.changes if history else ()):
            keys.append((plan.id, number))
            proposals.append(
                InitiativeChangeProposal(
                    initiative_id=plan.id,
                    status=ProposalStatus.APPLIED,
                    proposed_by_id=change.proposed_by_id,
                    proposed_at=change.proposed_at,
                    reason=change.reason,
                    marketing_share_pct=change.marketing_share_pct,
                    effective_from=change.effective_from,
                    previous_values={"marketing_share_pct": f"{change.previous_share_pct}"},
                    marketing_approved_by_id=plan.marketing_sponsor_id,
                    marketing_approved_at=change.marketing_approved_at,
                    it_approved_by_id=plan.it_sponsor_id,
                    it_approved_at=change.it_approved_at,
                    decided_by_id=(
                        plan.marketing_sponsor_id
                        if change.marketing_approved_at > change.it_approved_at
                        else plan.it_sponsor_id
                    ),
                    decided_at=change.applied_at,
                )
            )
    created = InitiativeChangeProposal.objects.bulk_create(proposals, batch_size=BULK_BATCH_ROWS)
    return {key: proposal.pk for key, proposal in zip(keys, created, strict=True)}


def agreements_insert(
    plans: Sequence[InitiativePlan],
    timelines: Sequence[Timeline],
    histories: Sequence[ShareHistory | None],
    proposal_ids: Mapping[ProposalKey, int],
    *,
    progress: bool,
) -> int:
    """Insert every signed-off initiative's agreements (COPY on PostgreSQL, bulk_create elsewhere).

    The first from the start month, signed at the dual sign-off; one per share change, signed at
    its proposal's approvals. Each was created when its second signature came in.
    """

    def rows() -> Iterator[tuple]:
        for plan, timeline, history in zip(plans, timelines, histories, strict=True):
            if history is None:
                continue
            marketing_at, it_at = timeline.marketing_approved_at, timeline.it_approved_at
            yield (
                plan,
                month_start(plan.start_date),
                history.first_share_pct,
                marketing_at,
                it_at,
                max(marketing_at, it_at),
                None,
            )
            for number, change in enumerate(history.changes):
                yield (
                    plan,
                    change.effective_from,
                    change.marketing_share_pct,
                    change.marketing_approved_at,
                    change.it_approved_at,
                    change.applied_at,
                    proposal_ids[plan.id, number],
                )

    total = sum(1 + len(history.changes) for history in histories if history is not None)
    if connection.vendor == "postgresql":
        lines = (
            f"{plan.id},{month.isoformat()},{share},{plan.marketing_sponsor_id},{marketing_at.isoformat()},"
            f"{plan.it_sponsor_id},{it_at.isoformat()},{'' if proposal is None else proposal},{created.isoformat()}\n"
            for plan, month, share, marketing_at, it_at, created, proposal in rows()
        )
        columns = (
            "initiative_id",
            "effective_from",
            "marketing_share_pct",
            "marketing_signed_by_id",
            "marketing_signed_at",
            "it_signed_by_id",
            "it_signed_at",
            "proposal_id",
            "created_at",
        )
        return copy_lines(CoFundingAgreement, columns, lines, "Agreements", total, progress)
    objects = (
        CoFundingAgreement(
            initiative_id=plan.id,
            effective_from=month,
            marketing_share_pct=share,
            marketing_signed_by_id=plan.marketing_sponsor_id,
            marketing_signed_at=marketing_at,
            it_signed_by_id=plan.it_sponsor_id,
            it_signed_at=it_at,
            proposal_id=proposal,
            created_at=created,
        )
        for plan, month, share, marketing_at, it_at, created, proposal in rows()
    )
    return bulk_create_batched(CoFundingAgreement, objects, "Agreements", total, progress)


def transitions_insert(
    plans: Sequence[InitiativePlan],
    timelines: Sequence[Timeline],
    *,
    proposal_ids: Mapping[ProposalKey, int],
    progress: bool,
) -> int:
    """Insert every timeline event as an InitiativeTransition (COPY on PostgreSQL, bulk_create elsewhere).

    A share change's steps point at their proposal (`proposal_ids`, from `proposals_insert`).
    """
    total = sum(len(timeline.events) for timeline in timelines)
    rows = (
        (plan.id, event, None if event.proposal is None else proposal_ids[plan.id, event.proposal])
        for plan, timeline in zip(plans, timelines, strict=True)
        for event in timeline.events
    )
    if connection.vendor == "postgresql":
        quoted = CsvQuoted()  # from_status "" must stay an empty string, not NULL
        lines = (
            f"{initiative_id},{event.action},{quoted[event.from_status]},{event.to_status},{event.by_id},"
            f"{event.at.isoformat()},{quoted[event.reason]},{'' if proposal_id is None else proposal_id}\n"
            for initiative_id, event, proposal_id in rows
        )
        columns = ("initiative_id", "action", "from_status", "to_status", "by_id", "at", "reason", "proposal_id")
        return copy_lines(InitiativeTransition, columns, lines, "Timelines", total, progress)
    objects = (
        InitiativeTransition(
            initiative_id=initiative_id,
            action=event.action,
            from_status=event.from_status,
            to_status=event.to_status,
            by_id=event.by_id,
            at=event.at,
            reason=event.reason,
            proposal_id=proposal_id,
        )
        for initiative_id, event, proposal_id in rows
    )
    return bulk_create_batched(InitiativeTransition, objects, "Timelines", total, progress)


def budget_lines_write(rows: Iterator[BudgetLineRow], *, total: int, progress: bool) -> int:
    if connection.vendor == "postgresql":
        iso = IsoDates()
        lines = (
            f"{initiative_id},{iso[month]},{category},{cents_text(amount)}\n"
            for initiative_id, month, category, amount in rows
        )
        return copy_lines(
            BudgetLine, ("initiative_id", "month", "category", "amount"), lines, "Budget lines", total, progress
        )
    objects = (
        BudgetLine(initiative_id=initiative_id, month=month, category=category, amount=Decimal(amount).scaleb(-2))
        for initiative_id, month, category, amount in rows
    )
    return bulk_create_batched(BudgetLine, objects, "Budget lines", total, progress)


def expenses_write(rows: Iterator[ExpenseRow], *, total: int, imported_at: ErpImportTimes, progress: bool) -> int:
    """Insert the ERP actuals, each created when the nightly ERP import brought it in (`imported_at`)."""
    if connection.vendor == "postgresql":
        iso, quoted, times = IsoDates(), CsvQuoted(), IsoTimes()
        lines = (
            f"{initiative_id},{iso[incurred_on]},{cents_text(amount)},{currency},{cents_text(amount_reporting)},"
            f"{paid_by},{category},{quoted[vendor]},{quoted[description]},{EXPENSE_SOURCE},{ref},"
            f"{times[imported_at[incurred_on]]}\n"
            for (
                initiative_id,
                incurred_on,
                amount,
                currency,
                amount_reporting,
                paid_by,
                category,
                vendor,
                description,
                ref,
            ) in rows
        )
        columns = (
            "initiative_id",
            *Expense.RECORD_FIELDS,
            "created_at",
        )
        return copy_lines(Expense, columns, lines, "Expenses", total, progress)
    objects = (
        Expense(
            initiative_id=initiative_id,
            incurred_on=incurred_on,
            amount=Decimal(amount).scaleb(-2),
            currency=currency,
            amount_reporting=Decimal(amount_reporting).scaleb(-2),
            paid_by=paid_by,
            category=category,
            vendor=vendor,
            description=description,
            source=EXPENSE_SOURCE,
            external_ref=ref,
        )
        for (
            initiative_id,
            incurred_on,
            amount,
            currency,
            amount_reporting,
            paid_by,
            category,
            vendor,
            description,
            ref,
        ) in rows
    )
    written = 0
    with progress_bar("Expenses", total, progress) as bar:
        for batch in batched(objects, BULK_BATCH_ROWS):
            created = Expense.objects.bulk_create(batch)
            # bulk_create stamps created_at with the clock (auto_now_add); the import time goes in after.
            for expense in created:
                expense.created_at = imported_at[expense.incurred_on]
            Expense.objects.bulk_update(created, ["created_at"])
            written += len(created)
            bar.update(len(created))
    return written
