"""Fixtures of the scenario tests: two running initiatives of the same sponsors, a platform pair, scenarios."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from initiatives import agreements
from initiatives import services as initiative_services
from portfolio.fiscal import add_months
from scenarios import services
from tests.factories import FAST_LANE_ANSWERS, UserFactory

THIS_MONTH = agreements.current_month()


def month(offset: int) -> dt.date:
    return add_months(THIS_MONTH, offset)


def _running(pm, title, executive_marketing, executive_it, **extra):
    initiative = initiative_services.initiative_create(
        by=pm,
        title=title,
        summary="Grow repeat purchases by 10 % with a rewards app.",
        marketing_sponsor=executive_marketing,
        it_sponsor=executive_it,
        lane="fast_lane",
        start_date=month(-6) + dt.timedelta(days=9),
        end_date=month(12) + dt.timedelta(days=27),
        marketing_share_pct=Decimal("60.00"),
        estimated_cost=Decimal("500000.00"),
        health="green",
        platforms=[],
        lane_assessment=dict(FAST_LANE_ANSWERS),
        lane_justification="",
        **extra,
    )
    initiative_services.initiative_submit(initiative=initiative, by=pm)
    initiative_services.initiative_approve(initiative=initiative, by=executive_marketing)
    return initiative_services.initiative_approve(initiative=initiative, by=executive_it)


@pytest.fixture
def loyalty(pm, executive_marketing, executive_it):
    return _running(pm, "Loyalty app", executive_marketing, executive_it)


@pytest.fixture
def cdp(pm, executive_marketing, executive_it):
    return _running(pm, "Customer data platform", executive_marketing, executive_it)


@pytest.fixture
def draft(pm, executive_marketing, executive_it):
    return initiative_services.initiative_create(
        by=pm,
        title="Draft idea",
        summary="Try something.",
        marketing_sponsor=executive_marketing,
        it_sponsor=executive_it,
        lane="fast_lane",
        start_date=month(-6),
        end_date=month(12),
        marketing_share_pct=Decimal("50.00"),
        estimated_cost=Decimal("1000.00"),
        health="green",
        platforms=[],
        lane_assessment=dict(FAST_LANE_ANSWERS),
        lane_justification="",
    )


@pytest.fixture
def other_executive(db):
    return UserFactory(username="cfo.other", role="executive", side="marketing")


@pytest.fixture
def scenario(executive_marketing):
    return services.scenario_create(by=executive_marketing, name="Marketing leads loyalty")
