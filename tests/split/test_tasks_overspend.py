"""Nightly overspend alerts: FYTD actuals over plan by more than OVERSPEND_ALERT_PCT, once a month each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from initiatives.choices import NotificationKind
from initiatives.models import Notification
from initiatives.notifications import RESEND_AFTER, notifications_resend_due
from portfolio.jobs import JobStatus
from split.models import OverspendAlert
from split.overspend import overspend_alerts_send
from split.services import split_recompute
from split.tasks import overspend_alerts_task
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = dt.date(2026, 11, 15)  # FY2027 with a July start: July – November 2026 to date
FYTD_MONTHS = [dt.date(2026, month, 1) for month in range(7, 12)]


@pytest.fixture(autouse=True)
def july_fiscal_year(settings):
    settings.FISCAL_YEAR_START_MONTH = 7
    settings.OVERSPEND_ALERT_PCT = 10


def initiative_spending(actual_fytd: str, *, title: str, **extra):
    initiative = InitiativeFactory(title=title, **extra)
    for month in FYTD_MONTHS:
        BudgetLineFactory(initiative=initiative, month=month, amount=D("1000.00"))  # 5000.00 planned to date
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 8, 3), amount=D(actual_fytd))
    return initiative


def test_alerts_owner_and_both_sponsors_of_an_initiative_over_plan_by_more_than_the_threshold(
    django_capture_on_commit_callbacks,
):
    owner = UserFactory(username="olivia", email="olivia@example.com")
    cmo = UserFactory(username="cmo.alerts", role="executive", email="cmo@example.com")
    cio = UserFactory(username="cio.alerts", role="executive", side="it", email="cio@example.com")
    over = initiative_spending("5500.01", title="Loyalty app", owner=owner, marketing_sponsor=cmo, it_sponsor=cio)
    initiative_spending("5500.00", title="Exactly ten percent over")  # not *more* than 10 %
    split_recompute(trigger="command")

    with django_capture_on_commit_callbacks(execute=True):
        sent = overspend_alerts_send(today=TODAY)

    assert sent == 1
    assert sorted(address for message in mail.outbox for address in message.to) == [
        "cio@example.com",
        "cmo@example.com",
        "olivia@example.com",
    ]  # one e-mail each, recorded as a notification
    message = mail.outbox[0]
    assert over.code in message.subject and "FY2027" in message.subject
    assert "5,000.00" in message.body and "5,500.01" in message.body
    assert set(Notification.objects.values_list("kind", "initiative", "status")) == {
        (NotificationKind.OVERSPEND, over.pk, JobStatus.SUCCEEDED)
    }
    alert = OverspendAlert.objects.get()
    assert (alert.initiative, alert.month, alert.fiscal_year) == (over, dt.date(2026, 11, 1), 2027)
    assert (alert.planned_total, alert.actual_total) == (D("5000.00"), D("5500.01"))


def test_at_most_one_alert_per_initiative_per_month(django_capture_on_commit_callbacks):
    initiative_spending("9000.00", title="Way over")
    split_recompute(trigger="command")

    with django_capture_on_commit_callbacks(execute=True):
        assert overspend_alerts_send(today=TODAY) == 1
        assert overspend_alerts_send(today=TODAY + dt.timedelta(days=10)) == 0  # still November
    assert len(mail.outbox) == 3  # owner and both sponsors, once
    assert overspend_alerts_send(today=dt.date(2026, 12, 2)) == 1  # a new month, still over
    assert OverspendAlert.objects.count() == 2


def test_only_the_fiscal_year_to_date_counts():
    previous_year = InitiativeFactory(title="Overspent last fiscal year")
    for month in FYTD_MONTHS:
        BudgetLineFactory(initiative=previous_year, month=month, amount=D("1000.00"))
    ExpenseFactory(initiative=previous_year, incurred_on=dt.date(2026, 6, 30), amount=D("99999.00"))  # FY2026
    future_plan = initiative_spending("5600.00", title="Budget later in the year")
    BudgetLineFactory(initiative=future_plan, month=dt.date(2027, 1, 1), amount=D("50000.00"))  # after today
    split_recompute(trigger="command")

    overspend_alerts_send(today=TODAY)

    assert list(OverspendAlert.objects.values_list("initiative__title", flat=True)) == ["Budget later in the year"]


def test_an_initiative_with_spend_but_no_plan_is_alerted_and_one_without_spend_is_not(
    django_capture_on_commit_callbacks,
):
    unplanned = InitiativeFactory(title="No budget at all")
    ExpenseFactory(initiative=unplanned, incurred_on=dt.date(2026, 9, 9), amount=D("10.00"))
    credit_only = InitiativeFactory(title="Only a credit")
    ExpenseFactory(initiative=credit_only, incurred_on=dt.date(2026, 9, 9), amount=D("-10.00"))
    split_recompute(trigger="command")

    with django_capture_on_commit_callbacks(execute=True):
        overspend_alerts_send(today=TODAY)

    assert list(OverspendAlert.objects.values_list("initiative__title", flat=True)) == ["No budget at all"]
    assert "no budget planned" in mail.outbox[0].body


def test_the_threshold_is_a_setting(settings):
    settings.OVERSPEND_ALERT_PCT = 20
    initiative_spending("5999.99", title="19.99 % over")
    split_recompute(trigger="command")

    assert overspend_alerts_send(today=TODAY) == 0


def test_a_failed_email_is_recorded_and_sent_by_the_periodic_resend_and_the_alert_stands(
    mail_server, django_capture_on_commit_callbacks
):
    initiative_spending("9000.00", title="Way over")
    split_recompute(trigger="command")

    mail_server.down(ConnectionRefusedError("smtp down"))
    with django_capture_on_commit_callbacks(execute=True):
        assert overspend_alerts_send(today=TODAY) == 1
    assert OverspendAlert.objects.exists()  # the alert is not lost, and not written twice next night
    assert mail.outbox == []
    unsent = Notification.objects.filter(kind=NotificationKind.OVERSPEND)
    assert unsent.count() == 3
    assert all("smtp down" in n.error and n.status != JobStatus.SUCCEEDED for n in unsent)

    mail_server.up()
    assert notifications_resend_due(now=timezone.now() + RESEND_AFTER * 2) == 3
    assert len(mail.outbox) == 3
    assert set(unsent.values_list("status", flat=True)) == {JobStatus.SUCCEEDED}


def test_the_nightly_task_sends_todays_alerts(monkeypatch):
    from split import overspend

    monkeypatch.setattr(overspend.timezone, "localdate", lambda: TODAY)
    initiative_spending("9000.00", title="Way over")
    split_recompute(trigger="command")

    assert overspend_alerts_task.apply().get() == {"sent": 1}
    assert overspend_alerts_task.apply().get() == {"sent": 0}
    assert OverspendAlert.objects.get().month == dt.date(2026, 11, 1)
