"""Executives read FX rates and locks on the web (§1: they see everything), read-only: no form or button to
set, change, delete, lock or unlock, and 403 on every write. (The API: tests/api/test_permissions.py.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.models import FxRate, PeriodLock
from tests.factories import FxRateFactory, PeriodLockFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(finance):
    return {
        "rate": FxRateFactory(currency="EUR", month=dt.date(2026, 3, 1), rate=Decimal("1.08500000")),
        "lock": PeriodLockFactory(month=dt.date(2026, 2, 1), reason="February closed", locked_by=finance),
    }


@pytest.mark.parametrize("who", ["executive_marketing", "executive_it"])
def test_executives_read_the_fx_rates_without_any_way_to_change_them(client, request, records, who):
    client.force_login(request.getfixturevalue(who))

    page = client.get(reverse("budgets:fx_rate_list")).content.decode()

    assert "1.08500000" in page and "March 2026" in page
    assert "Read-only: finance sets and changes the rates." in page
    assert page.count('method="post"') == 1  # the one form: log out
    assert "Set a rate" not in page and "Import rates from CSV" not in page
    assert reverse("budgets:fx_rate_update", args=[records["rate"].pk]) not in page
    assert reverse("budgets:fx_rate_delete", args=[records["rate"].pk]) not in page


@pytest.mark.parametrize("who", ["executive_marketing", "executive_it"])
def test_executives_read_the_locks_without_any_way_to_lock_or_unlock(client, request, records, who):
    client.force_login(request.getfixturevalue(who))

    page = client.get(reverse("budgets:lock_list"), {"fiscal_year": "FY2026"}).content.decode()

    assert "February closed" in page and "Read-only: finance locks and unlocks months." in page
    assert page.count('method="post"') == 1 and 'name="reason"' not in page  # the one: log out
    assert reverse("budgets:lock_unlock", args=[records["lock"].pk]) not in page
    assert reverse("budgets:audit_log") not in page  # the audit log is finance's and the admins'


def test_every_write_by_an_executive_is_refused_and_changes_nothing(client, executive_marketing, records):
    client.force_login(executive_marketing)
    rate, lock = records["rate"], records["lock"]

    writes = [
        client.post(reverse("budgets:fx_rate_list"), {"currency": "GBP", "month": "2026-03", "rate": "1.2"}),
        client.get(reverse("budgets:fx_rate_update", args=[rate.pk])),
        client.post(reverse("budgets:fx_rate_update", args=[rate.pk]), {"rate": "2"}),
        client.post(reverse("budgets:fx_rate_delete", args=[rate.pk])),
        client.post(reverse("budgets:lock_list"), {"month": "2026-03", "reason": "March closed"}),
        client.post(reverse("budgets:lock_unlock", args=[lock.pk]), {"reason": "Late invoice"}),
    ]

    assert [response.status_code for response in writes] == [403] * 6
    assert list(FxRate.objects.values_list("currency", "rate")) == [("EUR", Decimal("1.08500000"))]
    assert list(PeriodLock.objects.values_list("month", flat=True)) == [dt.date(2026, 2, 1)]


def test_finance_still_sees_the_forms(client, finance, records):
    client.force_login(finance)

    fx_page = client.get(reverse("budgets:fx_rate_list")).content.decode()
    lock_page = client.get(reverse("budgets:lock_list"), {"fiscal_year": "FY2026"}).content.decode()

    assert "Set a rate" in fx_page and reverse("budgets:fx_rate_update", args=[records["rate"].pk]) in fx_page
    assert "Read-only" not in fx_page and "Read-only" not in lock_page
    assert reverse("budgets:lock_unlock", args=[records["lock"].pk]) in lock_page


def test_the_navigation_leads_executives_to_fx_rates_and_locks_and_pms_nowhere_near(client, executive_it, pm):
    client.force_login(executive_it)
    home = client.get(reverse("home")).content.decode()
    assert reverse("budgets:fx_rate_list") in home and reverse("budgets:lock_list") in home
    assert reverse("budgets:expense_list") not in home  # the rest of finance's pages stay finance's

    client.force_login(pm)
    home = client.get(reverse("home")).content.decode()
    assert reverse("budgets:fx_rate_list") not in home and reverse("budgets:lock_list") not in home
