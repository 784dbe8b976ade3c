"""The dashboard's true-up card: settled, outstanding and accruing, adding up to the total, of the filtered rows."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.core.cache import cache
from django.utils import timezone

from split.models import SplitRun
from split.settlements import settlement_create, settlement_reverse
from tests.split.settlement_helpers import AUGUST, JULY, ledger

pytestmark = pytest.mark.django_db
URL = "/dashboard/"


def test_the_card_splits_the_true_up_in_three_and_follows_settlements(client, pm, finance):
    books = ledger(pm=pm, finance=finance)
    # A finished run: the card's figures are cached under it (and the ledger version), as in real life.
    now = timezone.now()
    SplitRun.objects.create(trigger="command", status="succeeded", started_at=now, finished_at=now)
    cache.clear()
    client.force_login(finance)

    response = client.get(URL, {"fiscal_year": "FY2026"})
    assert response.context["true_up"] == {
        "settled": D("0.00"),
        "outstanding": D("499.99"),
        "accruing": D("30.00"),
        "total": D("529.99"),
    }
    page = response.content.decode()
    assert "Marketing owes IT" in page and "$529.99" in page and "Outstanding" in page and "Accruing" in page

    settlement = settlement_create(months=[JULY, AUGUST], reference="JE-1", by=finance)
    states = client.get(URL, {"fiscal_year": "FY2026"}).context["true_up"]  # not a stale cached figure
    assert states == {"settled": D("500.00"), "outstanding": D("-0.01"), "accruing": D("30.00"), "total": D("529.99")}
    assert states["settled"] + states["outstanding"] + states["accruing"] == states["total"]

    core = client.get(URL, {"fiscal_year": "FY2026", "lane": "core_stack"}).context["true_up"]
    assert core == {"settled": D("-300.00"), "outstanding": D("-0.01"), "accruing": D("0.00"), "total": D("-300.01")}
    assert books["erp"].lane == "core_stack"

    settlement_reverse(settlement=settlement, by=finance, reason="Wrong period")
    assert client.get(URL, {"fiscal_year": "FY2026"}).context["true_up"]["settled"] == D("0.00")
