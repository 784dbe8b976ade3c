"""The settlement pages: finance settles a quarter or a range and reverses; executives read; PMs get 403."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from split.models import Settlement, SettlementMonth
from split.settlements import settlement_create
from tests.split.settlement_helpers import AUGUST, JULY, Q3_2026, ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(pm, finance):
    return ledger(pm=pm, finance=finance)


@pytest.mark.parametrize(
    ("who", "list_status", "new_status"),
    [("pm", 403, 403), ("executive_marketing", 200, 403), ("finance", 200, 200)],
)
def test_who_sees_and_settles(client, request, books, finance, who, list_status, new_status):
    settlement = settlement_create(months=[JULY], reference="ERP-1", by=finance)
    client.force_login(request.getfixturevalue(who))

    assert client.get(reverse("settlements:list")).status_code == list_status
    assert client.get(reverse("settlements:detail", args=[settlement.pk])).status_code == list_status
    assert client.get(reverse("settlements:new")).status_code == new_status
    response = client.post(reverse("settlements:reverse", args=[settlement.pk]), {"reason": "x"})
    assert response.status_code == (302 if who == "finance" else 403)


def test_finance_settles_a_whole_quarter(client, books, finance):
    client.force_login(finance)
    page = client.get(reverse("settlements:new")).content.decode()
    assert "FY2026 Q3 (July 2026 – September 2026)" in page
    assert '<option value="2026-08">August 2026</option>' in page

    response = client.post(reverse("settlements:new"), {"quarter": "FY2026-Q3", "reference": "JE-77", "note": ""})

    settlement = Settlement.objects.get()
    assert response.status_code == 302 and response.url == reverse("settlements:detail", args=[settlement.pk])
    assert settlement.amount == Decimal("499.99") and settlement.months == ["2026-07", "2026-08", "2026-09"]
    detail = client.get(response.url).content.decode()
    assert "Marketing pays IT" in detail and "499.99" in detail and books["loyalty"].code in detail
    assert "Reverse this settlement" in detail
    listing = client.get(reverse("settlements:list")).content.decode()
    assert "JE-77" in listing and "July 2026 – September 2026" in listing
    # The settled state reads as done (paid); the others as debts still open (owes).
    cards = {
        card["label"]: card["direction"] for card in client.get(reverse("settlements:list")).context["state_cards"]
    }
    assert cards["Settled"] == "Marketing paid IT"
    assert all("paid" not in direction for label, direction in cards.items() if label != "Settled")


def test_finance_settles_a_range_and_errors_sit_by_their_fields(client, books, finance):
    settlement_create(months=[JULY], reference="ERP-1", by=finance)
    client.force_login(finance)

    response = client.post(reverse("settlements:new"), {"first_month": "2026-08", "last_month": "2026-09"})
    assert response.status_code == 400
    assert response.context["form"].errors == {"reference": ["Enter the ERP reference of the settlement."]}

    response = client.post(reverse("settlements:new"), {"reference": "ERP-2"})
    assert response.context["form"].errors == {
        "quarter": ["Choose a fiscal quarter, or the first and last month of a range."]
    }

    response = client.post(
        reverse("settlements:new"), {"first_month": "2026-09", "last_month": "2026-08", "reference": "ERP-2"}
    )
    assert response.context["form"].errors == {"last_month": ["The last month cannot be before the first."]}

    # July is no longer offered; typed in anyway, the service names it under the range.
    response = client.post(
        reverse("settlements:new"), {"first_month": "2026-08", "last_month": "2026-09", "reference": "ERP-1"}
    )
    assert response.context["form"].errors == {
        "reference": ["A settlement with the ERP reference ERP-1 already exists."]
    }

    response = client.post(
        reverse("settlements:new"), {"first_month": "2026-08", "last_month": "2026-09", "reference": " ERP-2 "}
    )
    assert response.status_code == 302
    assert sorted(SettlementMonth.objects.values_list("month", flat=True)) == Q3_2026


def test_a_month_that_cannot_be_settled_is_named_under_the_range(client, books, finance):
    client.force_login(finance)
    settlement_create(months=[AUGUST], reference="ERP-9", by=finance)  # settled meanwhile, by someone else

    response = client.post(
        reverse("settlements:new"), {"first_month": "2026-07", "last_month": "2026-09", "reference": "ERP-10"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"first_month": ["August 2026 is already settled in ERP-9."]}
    assert Settlement.objects.count() == 1


def test_reverse_needs_a_reason_and_frees_the_months(client, books, finance):
    settlement = settlement_create(months=Q3_2026, reference="ERP-1", by=finance)
    client.force_login(finance)
    url = reverse("settlements:reverse", args=[settlement.pk])

    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    assert "Say why the settlement is being reversed." in response.content.decode()

    response = client.post(url, {"reason": "Wrong ERP period"}, follow=True)
    assert "ERP-1 is reversed: July 2026 – September 2026 can be settled again." in response.content.decode()
    assert "Wrong ERP period" in response.content.decode()
    assert not SettlementMonth.objects.exists()


def test_executives_read_without_forms(client, books, finance, executive_it):
    settlement = settlement_create(months=Q3_2026, reference="ERP-1", by=finance)
    client.force_login(executive_it)

    listing = client.get(reverse("settlements:list")).content.decode()
    detail = client.get(reverse("settlements:detail", args=[settlement.pk])).content.decode()
    assert "ERP-1" in listing and "Settle closed months" not in listing
    assert "Reverse this settlement" not in detail and "499.99" in detail
    home = client.get("/").content.decode()
    assert reverse("settlements:list") in home  # in the navigation
