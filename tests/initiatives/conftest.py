"""Fixtures of the initiative tests: a valid filing, and initiatives at each step of the workflow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from initiatives import services
from tests.factories import FAST_LANE_ANSWERS


@pytest.fixture
def filing(executive_marketing, executive_it):
    """Keyword arguments of a valid `initiative_create` (a fast-lane loyalty experiment)."""
    return {
        "title": "Loyalty app relaunch",
        "summary": "Grow repeat purchases by 10 % with a rewards app.",
        "marketing_sponsor": executive_marketing,
        "it_sponsor": executive_it,
        "lane": "fast_lane",
        "start_date": dt.date(2026, 2, 1),
        "end_date": dt.date(2026, 9, 30),
        "marketing_share_pct": Decimal("60.00"),
        "estimated_cost": Decimal("500000.00"),
        "health": "green",
        "platforms": [],
        "lane_assessment": dict(FAST_LANE_ANSWERS),
        "lane_justification": "",
    }


@pytest.fixture
def draft(pm, filing):
    return services.initiative_create(by=pm, **filing)


@pytest.fixture
def submitted(pm, draft):
    return services.initiative_submit(initiative=draft, by=pm)


@pytest.fixture
def approved(submitted, executive_marketing, executive_it):
    services.initiative_approve(initiative=submitted, by=executive_marketing)
    return services.initiative_approve(initiative=submitted, by=executive_it)
