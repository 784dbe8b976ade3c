"""The demo shows platform risk and digital islands at a believable scale: a handful of each, never none, never most."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from initiatives.models import Initiative
from initiatives.platforms import PlatformRisk, digital_island_q, platform_risk_q

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("seed", [1, 7])
def test_three_hundred_demo_initiatives_have_a_handful_at_platform_risk_and_a_handful_of_islands(seed):
    call_command("seed_demo", initiatives=300, expenses=500, months=12, seed=seed, stdout=io.StringIO())
    fast = Initiative.objects.filter(lane="fast_lane").count()

    at_risk = Initiative.objects.filter(platform_risk_q()).count()
    islands = Initiative.objects.filter(digital_island_q()).count()
    causes = {cause: Initiative.objects.filter(platform_risk_q(cause)).count() for cause in PlatformRisk.values}

    assert 3 <= at_risk <= fast // 8, (at_risk, causes)
    assert 3 <= islands <= fast // 8
    assert sum(1 for count in causes.values() if count) >= 2  # not one cause only
