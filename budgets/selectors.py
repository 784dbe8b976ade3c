"""Reads of the budgets app: the budget grid, expense totals and the finance history.

History comes from django-simple-history's tables. A page of the audit log is
a fixed number of queries whatever the size of those tables: one UNION ALL
over the history tables picks the page (newest first, index on history_date),
then per model one query loads the page's records with the id of each one's
previous version, one loads those previous versions, and one query each
fetches the users and initiative codes the entries name.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import CharField, Count, DecimalField, Exists, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import TruncMonth
from django.utils import timezone

from budgets.choices import Category, Payer
from budgets.models import BudgetLine, Expense, FxRate, ImportRun, PeriodLock
from budgets.months import month_label, month_short_label
from budgets.services.budgets import (
    budget_grid_amounts,
    budget_grid_version,
    budget_months_outside,
    running_span_label,
)
from budgets.services.locks import locked_months
from initiatives.choices import Status
from initiatives.models import CoFundingAgreement, Initiative
from initiatives.selectors import initiative_queryset
from portfolio.fiscal import fiscal_year_months

# --- the budget grid ----------------------------------------------------------------


@dataclass
class BudgetGridData:
    initiative: Initiative
    fiscal_year: int
    months: list[dt.date]
    categories: list[tuple[str, str]]
    amounts: dict[tuple[dt.date, str], Decimal]
    version: str
    locked: set[dt.date]
    actuals: dict[dt.date, Decimal]
    outside: set[dt.date] = field(default_factory=set)  # months before the start month or after the end month
    running: str = ""  # the months the initiative runs: "July 2026 – December 2026"


def budget_grid(*, initiative: Initiative, fiscal_year: int) -> BudgetGridData:
    """Everything the grid page shows: stored amounts, their version, locked months, the months outside
    the initiative's dates, actuals per month."""
    months = fiscal_year_months(fiscal_year)
    amounts = budget_grid_amounts(initiative=initiative, fiscal_year=fiscal_year)
    return BudgetGridData(
        outside=set(
            budget_months_outside(start_date=initiative.start_date, end_date=initiative.end_date, months=months)
        ),
        running=running_span_label(initiative.start_date, initiative.end_date),
        initiative=initiative,
        fiscal_year=fiscal_year,
        months=months,
        categories=list(Category.choices),
        amounts=amounts,
        version=budget_grid_version(amounts),
        locked=locked_months(months),
        actuals=actuals_by_month(initiative=initiative, months=months),
    )


def actuals_by_month(*, initiative: Initiative, months: list[dt.date]) -> dict[dt.date, Decimal]:
    """Sum of `amount_reporting` per month of one initiative over `months` (one grouped query)."""
    rows = (
        Expense.objects.filter(initiative=initiative, incurred_on__gte=months[0])
        .filter(incurred_on__lt=_after(months[-1]))
        .annotate(month=TruncMonth("incurred_on"))
        .values("month")
        .annotate(total=Sum("amount_reporting"))
        .values_list("month", "total")
    )
    return {_as_date(month): total for month, total in rows}


def _after(month: dt.date) -> dt.date:
    return dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def budget_initiatives(*, queryset: QuerySet, fiscal_year: int) -> QuerySet:
    """Initiatives annotated with their planned total for `fiscal_year` (for the budgets index page)."""
    months = fiscal_year_months(fiscal_year)
    planned = (
        BudgetLine.objects.filter(initiative=OuterRef("pk"), month__gte=months[0], month__lte=months[-1])
        .values("initiative")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return queryset.annotate(planned_total=Subquery(planned)).select_related("owner")


# --- expenses ---------------------------------------------------------------------------


def expense_totals(queryset: QuerySet) -> dict[str, Any]:
    """Row count and reporting-currency totals (all, paid by marketing, paid by IT) in ONE aggregate query."""
    totals = queryset.order_by().aggregate(
        count=Count("id"),
        total=Sum("amount_reporting"),
        marketing=Sum("amount_reporting", filter=Q(paid_by=Payer.MARKETING)),
        it=Sum("amount_reporting", filter=Q(paid_by=Payer.IT)),
    )
    return {key: (value if value is not None else Decimal(0)) for key, value in totals.items()}


def recent_imports(limit: int = 10) -> list[ImportRun]:
    return list(ImportRun.objects.select_related("run_by")[:limit])


# --- history ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditedModel:
    key: str
    label: str
    model: type
    fields: tuple[str, ...]
    title: Callable[[Any], str] | None = None  # a history row's title; default: its initiative, month, …

    @property
    def history(self):
        return self.model.history.model


AUDITED: dict[str, AuditedModel] = {
    audited.key: audited
    for audited in (
        AuditedModel("budget_line", "Budget line", BudgetLine, ("initiative", "month", "category", "amount")),
        AuditedModel(
            "expense",
            "Expense",
            Expense,
            (
                "initiative",
                *Expense.RECORD_FIELDS,
            ),
        ),
        AuditedModel("fx_rate", "FX rate", FxRate, ("currency", "month", "rate")),
        AuditedModel("period_lock", "Period lock", PeriodLock, ("month", "reason", "locked_by")),
        AuditedModel(
            "agreement",
            "Co-funding agreement",
            CoFundingAgreement,
            (
                "initiative",
                "effective_from",
                "marketing_share_pct",
                "marketing_signed_by",
                "marketing_signed_at",
                "it_signed_by",
                "it_signed_at",
                "proposal",
            ),
        ),
    )
}


def register_audited(audited: AuditedModel) -> None:
    """Add a model of an app above budgets to the audit log (from its AppConfig.ready()): the split's
    closed months and settlements. Its model needs `history = HistoricalRecords()`."""
    AUDITED.setdefault(audited.key, audited)


ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass
class FieldChange:
    name: str
    label: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    """One change of one record: who, when, what, and each field's value before → after."""

    model_key: str
    model_label: str
    history_id: int
    object_id: int
    when: dt.datetime
    user: Any
    action: str
    reason: str
    title: str
    changes: list[FieldChange] = field(default_factory=list)
    initiative_code: str = ""


@dataclass
class AuditPage:
    entries: list[HistoryEntry]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def audit_log(
    *,
    models: Iterable[str] | None = None,
    user_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    initiative_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """A page of finance history, newest first, filtered by model, user, date range or initiative.

    No COUNT over the history tables: the page asks for one row more than it
    shows to know whether there is a next page.
    """
    keys = [key for key in (models or AUDITED) if key in AUDITED]
    if initiative_id is not None:
        keys = [key for key in keys if "initiative" in AUDITED[key].fields]  # the records of an initiative
    if not keys:
        return AuditPage([], page, False)
    branches = []
    for key in keys:
        queryset = AUDITED[key].history.objects.all()
        if user_id is not None:
            queryset = queryset.filter(history_user_id=user_id)
        if (start := _day_start(date_from)) is not None:
            queryset = queryset.filter(history_date__gte=start)
        if (end := _day_start(_day_after(date_to))) is not None:
            queryset = queryset.filter(history_date__lt=end)
        if initiative_id is not None:
            queryset = queryset.filter(initiative_id=initiative_id)
        branches.append(
            queryset.order_by()
            .annotate(model_key=Value(key, output_field=CharField()))
            .values_list("history_date", "history_id", "model_key")
        )
    union = branches[0].union(*branches[1:], all=True) if len(branches) > 1 else branches[0]
    offset = (max(page, 1) - 1) * per_page
    picked = list(union.order_by("-history_date", "-history_id")[offset : offset + per_page + 1])
    has_next = len(picked) > per_page
    picked = picked[:per_page]
    return AuditPage(history_entries([(key, history_id) for _, history_id, key in picked]), page, has_next)


def _day_after(day: dt.date | None) -> dt.date | None:
    """The next day; None after the calendar's last, which has none."""
    return day + dt.timedelta(days=1) if day is not None and day < dt.date.max else None


def _day_start(day: dt.date | None) -> dt.datetime | None:
    """Midnight of `day` in the current time zone: a range on history_date that its index can serve.

    None (no bound) at the calendar's first and last days, which bound nothing: there the
    day after, or the time zone's offset, would fall off the calendar (OverflowError).
    """
    if day is None or not dt.date.min < day < dt.date.max:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def initiative_finance_history(initiative: Initiative, *, limit: int = 25) -> list[HistoryEntry]:
    """The latest changes to an initiative's budget lines and expenses, newest first.

    Usage on the initiative page (after checking `can(user, "initiative.view_finances", initiative)`):
    `{% include "budgets/_initiative_finance_history.html" with entries=finance_history %}`.
    """
    return audit_log(models=["budget_line", "expense"], initiative_id=initiative.pk, per_page=limit).entries


def history_entries(picked: list[tuple[str, int]]) -> list[HistoryEntry]:
    """Build entries (with field-level changes) for (model key, history_id) pairs, keeping their order."""
    by_model: dict[str, list[int]] = defaultdict(list)
    for key, history_id in picked:
        by_model[key].append(history_id)
    records: dict[tuple[str, int], Any] = {}
    previous: dict[tuple[str, int], Any] = {}
    for key, ids in by_model.items():
        history = AUDITED[key].history
        prev_id = (
            history.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
            .order_by("-history_id")
            .values("history_id")[:1]
        )
        rows = list(history.objects.filter(history_id__in=ids).annotate(prev_history_id=Subquery(prev_id)))
        prev_rows = {
            row.history_id: row
            for row in history.objects.filter(history_id__in=[r.prev_history_id for r in rows if r.prev_history_id])
        }
        for row in rows:
            records[(key, row.history_id)] = row
            if row.prev_history_id:
                previous[(key, row.history_id)] = prev_rows.get(row.prev_history_id)

    user_ids, initiative_ids = set(), set()
    for row in list(records.values()) + [row for row in previous.values() if row is not None]:
        if row.history_user_id:
            user_ids.add(row.history_user_id)
        if getattr(row, "initiative_id", None):
            initiative_ids.add(row.initiative_id)
        for user_field in _Formatter.USER_FIELDS:
            if getattr(row, f"{user_field}_id", None):
                user_ids.add(getattr(row, f"{user_field}_id"))
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in=user_ids)} if user_ids else {}
    codes = dict(Initiative.objects.filter(pk__in=initiative_ids).values_list("pk", "code")) if initiative_ids else {}
    formatter = _Formatter(users=users, codes=codes)

    entries = []
    for key, history_id in picked:
        row = records.get((key, history_id))
        if row is None:
            continue
        audited = AUDITED[key]
        before = previous.get((key, history_id))
        entries.append(
            HistoryEntry(
                model_key=key,
                model_label=audited.label,
                history_id=history_id,
                object_id=row.id,
                when=row.history_date,
                user=users.get(row.history_user_id),
                action=ACTIONS.get(row.history_type, row.history_type),
                reason=row.history_change_reason or "",
                title=audited.title(row) if audited.title else formatter.title(key, row),
                changes=_changes(audited, row, before, formatter),
                initiative_code=codes.get(getattr(row, "initiative_id", None), ""),
            )
        )
    return entries


def _changes(audited: AuditedModel, row, before, formatter: _Formatter) -> list[FieldChange]:
    changes = []
    for name in audited.fields:
        attname = audited.model._meta.get_field(name).attname
        new = getattr(row, attname)
        if row.history_type == "+":
            old_text, new_text = "", formatter.value(audited, name, new)
        elif row.history_type == "-":
            old_text, new_text = formatter.value(audited, name, new), ""
        else:
            old = getattr(before, attname) if before is not None else None
            if before is not None and old == new:
                continue
            old_text, new_text = formatter.value(audited, name, old), formatter.value(audited, name, new)
        if not old_text and not new_text:
            continue
        label = audited.model._meta.get_field(name).verbose_name
        changes.append(
            FieldChange(name=name, label=str(label)[:1].upper() + str(label)[1:], before=old_text, after=new_text)
        )
    return changes


class _Formatter:
    """Values as people read them: money with separators, months by name, choices by label, codes not ids."""

    MONEY_FIELDS = {"amount", "amount_reporting"}
    MONTH_FIELDS = {"month", "effective_from"}
    USER_FIELDS = ("locked_by", "marketing_signed_by", "it_signed_by")

    def __init__(self, *, users: dict, codes: dict):
        self.users, self.codes = users, codes

    def value(self, audited: AuditedModel, name: str, value) -> str:
        if value is None or value == "":
            return ""
        if name == "initiative":
            return self.codes.get(value, f"#{value}")
        if name in self.USER_FIELDS:
            user = self.users.get(value)
            return (user.get_full_name() or user.get_username()) if user else f"user #{value}"
        if name in self.MONTH_FIELDS:
            return month_label(value)
        if name in self.MONEY_FIELDS:
            return f"{value:,.2f}"
        if name == "marketing_share_pct":
            return f"{value} %"
        if name == "proposal":
            return f"proposal #{value}"
        if isinstance(value, dt.datetime):
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        if name == "rate":
            return f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)
        if name == "category":
            return Category(value).label if value in Category.values else str(value)
        if name == "paid_by":
            return Payer(value).label if value in Payer.values else str(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, list):
            return ", ".join(map(str, value))
        return str(value)

    def title(self, key: str, row) -> str:
        if key == "budget_line":
            category = Category(row.category).label if row.category in Category.values else row.category
            return f"{self.codes.get(row.initiative_id, '')} · {month_short_label(row.month)} · {category}"
        if key == "expense":
            vendor = f" · {row.vendor}" if row.vendor else ""
            return f"{self.codes.get(row.initiative_id, '')} · {row.incurred_on:%Y-%m-%d}{vendor}"
        if key == "fx_rate":
            return f"{row.currency} · {month_short_label(row.month)}"
        if key == "agreement":
            return f"{self.codes.get(row.initiative_id, '')} · from {month_short_label(row.effective_from)}"
        return month_label(row.month)


# --- the plan beside the estimate, and initiatives waiting for one ----------------------------------


def plan_total_expression(initiative_ref: str = "pk") -> Subquery:
    """The sum of the budget lines of the initiative `initiative_ref` points at (NULL when it has none).

    Registered in portfolio.plan_months: the initiatives' approval screens annotate with it.
    """
    lines = (
        BudgetLine.objects.filter(initiative=OuterRef(initiative_ref))
        .order_by()
        .values("initiative")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Subquery(lines, output_field=DecimalField(max_digits=16, decimal_places=2))


def actual_to_date_expression(initiative_ref: str = "pk", *, on: dt.date) -> Subquery:
    """The sum of the `amount_reporting` of the expenses of the initiative `initiative_ref` points at,
    incurred on or before `on` (NULL when there are none); read on the index (initiative, incurred_on).

    Registered in portfolio.plan_months: the initiative list shows it beside the plan.
    """
    spent = (
        Expense.objects.filter(initiative=OuterRef(initiative_ref), incurred_on__lte=on)
        .order_by()
        .values("initiative")
        .annotate(total=Sum("amount_reporting"))
        .values("total")
    )
    return Subquery(spent, output_field=DecimalField(max_digits=16, decimal_places=2))


def approved_without_budget(*, user, limit: int = 25) -> tuple[list[Initiative], int]:
    """(the first `limit`, how many in all) of the approved or in-progress initiatives `user` may see that
    have no budget line yet: finance's to-do list, those starting first on top (two queries)."""
    lines = BudgetLine.objects.filter(initiative=OuterRef("pk"))
    queryset = initiative_queryset(user=user).filter(~Exists(lines), status__in=(Status.APPROVED, Status.IN_PROGRESS))
    page = list(queryset.defer("summary", "lane_assessment", "lane_justification").order_by("start_date", "id")[:limit])
    return page, (len(page) if len(page) < limit else queryset.count())
