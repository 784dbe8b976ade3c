"""The split per month's share, and closed months that never move (PRODUCT.md §3; issue 16 points 2 and 3)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from budgets.models import PeriodLock
from budgets.services import locks as period_locks
from budgets.services.fx import fx_rate_set
from budgets.services.locks import period_lock_create, period_unlock
from initiatives.models import CoFundingAgreement, Initiative
from split import rebuild
from split.models import ClosedMonth, Settlement, SettlementMonth, SplitRow
from split.selectors import run_cached
from split.services import split_recompute
from tests.budgets.finance_helpers import finance_in_admin
from tests.factories import BudgetLineFactory, ExpenseFactory, FxRateFactory, InitiativeFactory, PeriodLockFactory
from tests.split import split_lock

pytestmark = pytest.mark.django_db
lock_held_elsewhere = split_lock.lock_held_elsewhere
D = Decimal
DEC, JAN, FEB, MAR, APR = (
    dt.date(2025, 12, 1),
    dt.date(2026, 1, 1),
    dt.date(2026, 2, 1),
    dt.date(2026, 3, 1),
    dt.date(2026, 4, 1),
)


def agreement(initiative: Initiative, month: dt.date, share: str) -> CoFundingAgreement:
    return CoFundingAgreement.objects.create(initiative=initiative, effective_from=month, marketing_share_pct=D(share))


def half_up(amount: Decimal) -> Decimal:
    return amount.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def rows_of(month: dt.date) -> list[SplitRow]:
    return list(SplitRow.objects.filter(month=month).order_by("initiative_code"))


def csv_lines(client, month: dt.date) -> list[bytes]:
    """The lines of /reports/split.csv whose month column is `month`, as bytes."""
    response = client.get(reverse("reports:split_csv"))
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    return [line for line in content.splitlines() if line.split(b",")[1] == f"{month:%Y-%m}".encode()]


# --- the share of the agreement in force, per month ---------------------------------


def test_each_month_takes_the_share_of_the_agreement_in_force():
    """The issue's new worked example: 60 % from January, 50 % from April (approved in May, April open)."""
    initiative = InitiativeFactory(marketing_share_pct=D("50.00"), status="in_progress")
    agreement(initiative, JAN, "60.00")
    agreement(initiative, APR, "50.00")
    months = [DEC, JAN, FEB, MAR, APR, dt.date(2026, 5, 1), dt.date(2026, 6, 1)]
    for month in months:
        BudgetLineFactory(initiative=initiative, month=month, amount=D("1000.01"))
        ExpenseFactory(initiative=initiative, incurred_on=month.replace(day=9), amount=D("333.35"), paid_by="it")

    split_recompute(trigger="command")

    rows = {row.month: row for row in SplitRow.objects.filter(initiative=initiative)}
    assert sorted(rows) == months
    for month, row in rows.items():
        # before the first agreement's month (December) the first agreement holds
        share = D("60.00") if month < APR else D("50.00")
        assert row.marketing_share_pct == share, month
        assert row.planned_marketing == (D("600.01") if share == 60 else D("500.01")), month  # 500.005 → 500.01
        assert row.actual_marketing == (D("200.01") if share == 60 else D("166.68")), month  # 166.675 → 166.68
        assert row.planned_marketing + row.planned_it == row.planned_total == D("1000.01")
        assert row.actual_marketing + row.actual_it == row.actual_total == D("333.35")
        assert row.true_up == row.actual_marketing - row.paid_marketing


def test_an_initiative_without_agreements_keeps_its_own_share():
    initiative = InitiativeFactory(marketing_share_pct=D("35.00"))
    BudgetLineFactory(initiative=initiative, month=JAN, amount=D("100.00"))

    split_recompute(trigger="command")

    [row] = rows_of(JAN)
    assert (row.marketing_share_pct, row.planned_marketing, row.planned_it) == (D("35.00"), D("35.00"), D("65.00"))


@pytest.mark.postgres
def test_postgresql_and_the_portable_path_pick_the_same_agreement(settings):
    settings.FISCAL_YEAR_START_MONTH = 7
    for n in range(6):
        initiative = InitiativeFactory(marketing_share_pct=D("10.00") * n)
        if n % 3:
            agreement(initiative, FEB, f"{20 + n}.50")
        if n % 2:
            agreement(initiative, APR, f"{70 - n}.25")
        for month in (DEC, JAN, FEB, MAR, APR, dt.date(2026, 5, 1)):
            BudgetLineFactory(initiative=initiative, month=month, amount=D("99.99") * (n + 1))
            ExpenseFactory(initiative=initiative, incurred_on=month, amount=D("-12.35") * (n + 1), paid_by="marketing")
    split_recompute(trigger="command")
    columns = [field.attname for field in SplitRow._meta.concrete_fields if field.attname != "id"]
    in_sql = list(SplitRow.objects.order_by("initiative_id", "month").values(*columns))

    with transaction.atomic():
        SplitRow.objects.all().delete()
        rebuild._rebuild_portable()

    assert list(SplitRow.objects.order_by("initiative_id", "month").values(*columns)) == in_sql


# --- closed months ------------------------------------------------------------------------


@pytest.fixture
def ledger():
    """Two initiatives with January and February records; one pays in euros (an FX rate per month)."""
    a = InitiativeFactory(title="Loyalty app", marketing_share_pct=D("60.00"), status="in_progress")
    b = InitiativeFactory(title="CRM clean-up", marketing_share_pct=D("25.00"), lane="core_stack", status="approved")
    agreement(a, DEC, "60.00")  # b has no agreement: its own share holds
    for month in (JAN, FEB):
        FxRateFactory(currency="EUR", month=month, rate=D("1.10000000"))
        for initiative in (a, b):
            BudgetLineFactory(initiative=initiative, month=month, amount=D("1000.01"))
            ExpenseFactory(initiative=initiative, incurred_on=month.replace(day=3), amount=D("300.05"), paid_by="it")
            ExpenseFactory(
                initiative=initiative,
                incurred_on=month.replace(day=20),
                amount=D("100.00"),
                currency="EUR",
                amount_reporting=D("110.00"),
                paid_by="marketing",
            )
    return a, b


def change_everything(a: Initiative, b: Initiative, finance) -> None:
    """Share (a new agreement from January), lane, status, title, and February's FX rate."""
    agreement(a, JAN, "20.00")
    Initiative.objects.filter(pk=a.pk).update(title="Loyalty app v2", lane="core_stack", status="done")
    Initiative.objects.filter(pk=b.pk).update(marketing_share_pct=D("90.00"), title="CRM, cleaned", status="cancelled")
    fx_rate_set(currency="EUR", month=FEB, rate=D("1.50000000"), by=finance)


def test_locking_a_month_freezes_its_rows_from_the_records_as_they_are(ledger, finance):
    a, b = ledger  # no recompute yet: the lock computes the month itself

    lock = period_lock_create(month=JAN, reason="January close", by=finance)

    rows = rows_of(JAN)
    assert [row.initiative_code for row in rows] == sorted([a.code, b.code])
    assert all(row.closed for row in rows)
    assert [row.marketing_share_pct for row in rows] == [D("60.00"), D("25.00")]
    assert not SplitRow.objects.filter(month=FEB).exists()  # only the locked month
    closed = ClosedMonth.objects.get()
    assert (closed.month, closed.lock, closed.frozen_by, closed.row_count) == (JAN, lock, finance, 2)
    for total in ("planned_total", "planned_marketing", "actual_total", "actual_marketing", "paid_marketing"):
        assert getattr(closed, total) == sum(getattr(row, total) for row in rows), total
    assert closed.paid_it == sum(row.paid_it for row in rows)
    assert closed.true_up == sum(row.true_up for row in rows)
    assert closed.history.get().history_change_reason == "Locked: January close"


def test_a_closed_month_never_moves_byte_for_byte(client, ledger, finance):
    """Issue 16's proof: after January is closed, its share, lane, status, title and an FX rate change."""
    a, b = ledger
    split_recompute(trigger="command")
    period_lock_create(month=JAN, reason="January close", by=finance)
    client.force_login(finance)
    january, february = csv_lines(client, JAN), csv_lines(client, FEB)
    assert len(january) == len(february) == 2

    change_everything(a, b, finance)
    run = split_recompute(trigger="command")

    assert csv_lines(client, JAN) == january
    assert csv_lines(client, FEB) != february  # the open month moved with everything
    assert run.row_count == SplitRow.objects.count() == 4  # the frozen rows are counted
    assert all(row.closed for row in rows_of(JAN)) and not any(row.closed for row in rows_of(FEB))


def test_unlock_change_recompute_does_change_the_month(client, ledger, finance):
    a, b = ledger
    split_recompute(trigger="command")
    lock = period_lock_create(month=JAN, reason="January close", by=finance)
    client.force_login(finance)
    january = csv_lines(client, JAN)

    period_unlock(lock=lock, reason="Late invoice from Acme", by=finance)

    assert not ClosedMonth.objects.exists()
    assert not any(row.closed for row in rows_of(JAN))
    assert csv_lines(client, JAN) == january  # unfrozen, not recomputed yet
    assert ClosedMonth.history.latest().history_change_reason == "Unlocked: Late invoice from Acme"
    assert ClosedMonth.history.latest().history_type == "-"

    change_everything(a, b, finance)
    split_recompute(trigger="command")

    after = csv_lines(client, JAN)
    assert after != january
    assert {row.initiative_id: row.marketing_share_pct for row in rows_of(JAN)} == {a.pk: D("20.00"), b.pk: D("90.00")}
    assert b"Loyalty app v2" in b"".join(after)


def test_relocking_freezes_the_month_again_as_it_is_then(ledger, finance):
    a, _ = ledger
    lock = period_lock_create(month=JAN, reason="January close", by=finance)
    period_unlock(lock=lock, reason="Reopened", by=finance)
    agreement(a, JAN, "20.00")

    period_lock_create(month=JAN, reason="January close, again", by=finance)

    assert [row.marketing_share_pct for row in rows_of(JAN) if row.initiative_id == a.pk] == [D("20.00")]
    assert ClosedMonth.objects.get().row_count == 2


def test_a_settled_month_cannot_be_unlocked(ledger, finance):
    lock = period_lock_create(month=JAN, reason="January close", by=finance)
    settlement = Settlement.objects.create(
        reference="ERP-2026-Q1", first_month=JAN, last_month=JAN, months=["2026-01"], amount=D("0"), created_by=finance
    )
    SettlementMonth.objects.create(settlement=settlement, closed_month=ClosedMonth.objects.get(), month=JAN)

    with pytest.raises(ValidationError) as refused:
        period_unlock(lock=lock, reason="Late invoice", by=finance)

    assert refused.value.messages == [
        "January 2026 is settled in ERP-2026-Q1: reverse the settlement before unlocking it."
    ]
    assert PeriodLock.objects.filter(pk=lock.pk).exists() and ClosedMonth.objects.exists()
    assert all(row.closed for row in rows_of(JAN))


def test_the_lock_page_refuses_to_unlock_a_settled_month_with_the_reason(client, ledger, finance):
    lock = period_lock_create(month=JAN, reason="January close", by=finance)
    settlement = Settlement.objects.create(
        reference="ERP-7", first_month=JAN, last_month=JAN, months=["2026-01"], amount=D("0"), created_by=finance
    )
    SettlementMonth.objects.create(settlement=settlement, closed_month=ClosedMonth.objects.get(), month=JAN)
    client.force_login(finance)

    response = client.post(reverse("budgets:lock_unlock", args=[lock.pk]), {"reason": "Late invoice"}, follow=True)

    assert "January 2026 is settled in ERP-7: reverse the settlement before unlocking it." in response.content.decode()
    assert PeriodLock.objects.filter(pk=lock.pk).exists()
    api = client.post(f"/api/locks/{lock.pk}/unlock/", {"reason": "Late invoice"}, content_type="application/json")
    assert api.status_code == 400, api.content
    assert "is settled in ERP-7" in api.content.decode()


def test_the_recompute_closes_a_month_locked_behind_the_services_back(ledger):
    PeriodLockFactory(month=JAN)  # a lock made before months were closed: no ClosedMonth

    run = split_recompute(trigger="command")

    closed = ClosedMonth.objects.get()
    assert (closed.month, closed.frozen_by, closed.row_count) == (JAN, None, 2)
    assert all(row.closed for row in rows_of(JAN))
    assert run.status == "succeeded"
    assert run.error == "Closed January 2026 (2 frozen rows): locked before its split was closed."
    assert run.row_count == 4

    again = split_recompute(trigger="command")
    assert again.error == "" and again.row_count == 4


def test_the_recompute_never_computes_a_closed_month(ledger, finance, monkeypatch):
    period_lock_create(month=JAN, reason="January close", by=finance)
    frozen = list(SplitRow.objects.filter(month=JAN).order_by("pk").values())
    newcomer = InitiativeFactory()
    BudgetLineFactory(initiative=newcomer, month=FEB, amount=D("7.00"))
    scopes, rows_insert = [], rebuild.rows_insert

    def spy(scope, **kwargs):
        scopes.append(scope)
        return rows_insert(scope, **kwargs)

    monkeypatch.setattr(rebuild, "rows_insert", spy)

    split_recompute(trigger="command")

    assert scopes == [rebuild.MonthScope.all_but([JAN])]  # every month but the closed one
    assert list(SplitRow.objects.filter(month=JAN).order_by("pk").values()) == frozen  # same rows, same ids
    assert SplitRow.objects.get(initiative=newcomer).month == FEB
    assert SplitRow.objects.filter(month=FEB, closed=False).count() == 3


@pytest.mark.postgres
def test_postgresql_refuses_to_change_a_closed_row(ledger, finance):
    period_lock_create(month=JAN, reason="January close", by=finance)

    with pytest.raises(IntegrityError, match="The split of January 2026 is closed"), transaction.atomic():
        SplitRow.objects.filter(month=JAN).update(actual_total=D("0"))
    with pytest.raises(IntegrityError, match="is closed"), transaction.atomic():
        SplitRow.objects.filter(month=JAN).delete()
    assert SplitRow.objects.filter(month=JAN, closed=True).count() == 2


@pytest.mark.postgres
def test_locking_waits_for_a_running_recompute(ledger, finance, lock_held_elsewhere):
    """The freeze takes the recompute's lock: while a recompute runs, the locking transaction waits."""
    with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '200ms'")
        period_lock_create(month=JAN, reason="January close", by=finance)
    assert not PeriodLock.objects.exists() and not ClosedMonth.objects.exists()

    lock_held_elsewhere.release()
    period_lock_create(month=JAN, reason="January close", by=finance)
    assert ClosedMonth.objects.get().row_count == 2


# --- the lock page ------------------------------------------------------------------------


def test_the_lock_page_shows_each_closed_months_frozen_totals(client, ledger, finance):
    period_lock_create(month=JAN, reason="January close", by=finance)
    closed = ClosedMonth.objects.get()
    client.force_login(finance)

    page = client.get(reverse("budgets:lock_list"), {"fiscal_year": "FY2026"}).content.decode()

    assert 'data-closed-month="2026-01"' in page
    assert "Split closed" in page and "2 rows" in page
    for amount in (closed.planned_total, closed.actual_total, closed.actual_marketing, closed.true_up):
        assert f"{amount:,.2f}" in page
    assert f"{closed.actual_total - closed.actual_marketing:,.2f}" in page
    assert "frozen" in page and (finance.get_full_name() or finance.username) in page


def test_the_lock_page_reads_the_closed_months_once(client, ledger, finance):
    client.force_login(finance)
    period_lock_create(month=JAN, reason="January close", by=finance)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("budgets:lock_list"), {"fiscal_year": "FY2026"})
    period_lock_create(month=FEB, reason="February close", by=finance)
    PeriodLockFactory(month=MAR)  # locked, not frozen yet
    with CaptureQueriesContext(connection) as three:
        page = client.get(reverse("budgets:lock_list"), {"fiscal_year": "FY2026"}).content.decode()

    assert len(three) == len(one)
    assert "Split not closed yet: the next recompute freezes it." in page


def test_freezing_and_unfreezing_renew_the_cached_figures_of_the_run(
    ledger, finance, django_capture_on_commit_callbacks
):
    """The rows change between runs when a month is frozen: figures cached under the run are read again."""
    run = split_recompute(trigger="command")
    reads = []

    def read() -> int:
        reads.append(1)
        return len(reads)

    assert run_cached(run, "test:figure", read) == run_cached(run, "test:figure", read) == 1
    with django_capture_on_commit_callbacks(execute=True):
        lock = period_lock_create(month=JAN, reason="January close", by=finance)
    assert run_cached(run, "test:figure", read) == 2
    with django_capture_on_commit_callbacks(execute=True):
        period_unlock(lock=lock, reason="Late invoice", by=finance)
    assert run_cached(run, "test:figure", read) == 3


def test_the_command_says_which_locked_months_it_closed(ledger):
    PeriodLockFactory(month=JAN)
    out = io.StringIO()

    call_command("recompute_split", stdout=out)

    assert "Closed January 2026 (2 frozen rows): locked before its split was closed." in out.getvalue()
    assert "Recomputed the spend split: 4 rows" in out.getvalue()


@pytest.mark.postgres
def test_the_recompute_never_waits_for_a_lock_in_progress(ledger):
    """A lock or unlock in progress waits for the recompute: the recompute leaves its own freezing for later."""
    PeriodLockFactory(month=JAN)  # locked, not closed: the recompute would close it
    other = connection.copy()
    other.connect()
    with other.cursor() as cursor:  # a lock in progress elsewhere holds the period-lock advisory lock
        cursor.execute("SELECT pg_advisory_lock(%s)", [period_locks._ADVISORY_LOCK_KEY])
    try:
        run = split_recompute(trigger="command")
    finally:
        other.close()

    assert run.status == "succeeded" and run.error == ""
    assert not ClosedMonth.objects.exists() and not any(row.closed for row in rows_of(JAN))
    assert split_recompute(trigger="command").error.startswith("Closed January 2026")


def test_the_admin_unlocks_a_closed_month_and_refuses_a_settled_one(client, ledger):
    keeper = finance_in_admin()
    client.force_login(keeper)
    january = period_lock_create(month=JAN, reason="January close", by=keeper)
    february = period_lock_create(month=FEB, reason="February close", by=keeper)
    settlement = Settlement.objects.create(
        reference="ERP-9", first_month=FEB, last_month=FEB, months=["2026-02"], amount=D("0"), created_by=keeper
    )
    SettlementMonth.objects.create(settlement=settlement, closed_month=february.closed_month, month=FEB)

    confirm = client.get(reverse("admin:budgets_periodlock_delete", args=[january.pk]))
    assert confirm.status_code == 200 and "protected" not in confirm.content.decode()
    client.post(reverse("admin:budgets_periodlock_delete", args=[january.pk]), {"post": "yes"})
    refused = client.post(reverse("admin:budgets_periodlock_delete", args=[february.pk]), {"post": "yes"}, follow=True)

    assert list(PeriodLock.objects.values_list("month", flat=True)) == [FEB]
    assert list(ClosedMonth.objects.values_list("month", flat=True)) == [FEB]
    assert "February 2026 is settled in ERP-9: reverse the settlement before unlocking it." in refused.content.decode()
