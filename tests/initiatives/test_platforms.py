"""Platform risk and digital islands (initiatives/platforms.py): the rules, the list filters, the API, the page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings

from initiatives.models import Initiative
from initiatives.platforms import PlatformRisk, digital_island_q, platform_risk_q, platform_risks
from tests.factories import InitiativeFactory

pytestmark = pytest.mark.django_db
D = Decimal
END = dt.date(2026, 12, 31)


@pytest.fixture
def people(pm, executive_marketing, executive_it):
    return {"owner": pm, "marketing_sponsor": executive_marketing, "it_sponsor": executive_it}


def fast_on(platform, people, **fields):
    """A fast-lane initiative in progress, ending on END, that builds on `platform`."""
    values = {"lane": "fast_lane", "status": "in_progress", "end_date": END}
    initiative = InitiativeFactory(**{**people, **values, **fields})
    initiative.platforms.add(platform)
    return initiative


def core(people, **fields):
    """A core-stack platform: approved, green, ending after END unless told otherwise."""
    values = {"lane": "core_stack", "status": "approved", "health": "green", "end_date": dt.date(2027, 6, 30)}
    return InitiativeFactory(**{**people, **values, **fields})


def at_risk(cause=None) -> set[str]:
    return set(Initiative.objects.filter(platform_risk_q(cause)).values_list("code", flat=True))


def islands() -> set[str]:
    return set(Initiative.objects.filter(digital_island_q()).values_list("code", flat=True))


# --- platform risk ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform_fields", "cause"),
    [
        ({"status": "cancelled"}, PlatformRisk.CANCELLED),
        ({"status": "rejected"}, PlatformRisk.REJECTED),
        ({"health": "red"}, PlatformRisk.RED),
        ({"end_date": END - dt.timedelta(days=1)}, PlatformRisk.ENDS_FIRST),
    ],
)
def test_a_fast_lane_initiative_rests_on_a_risky_platform_for_each_of_the_four_causes(people, platform_fields, cause):
    platform = core(people, **platform_fields)
    dependent = fast_on(platform, people)

    assert at_risk() == at_risk(cause) == {dependent.code}
    assert all(at_risk(other) == set() for other in PlatformRisk.values if other != cause)
    [risk] = platform_risks([dependent])[dependent.pk]
    assert (risk.platform_id, risk.causes) == (platform.pk, (cause,))


def test_a_sound_platform_ending_the_same_day_or_later_is_no_risk(people):
    same_day = fast_on(core(people, end_date=END), people)
    later = fast_on(core(people, status="in_progress", health="amber"), people)

    assert at_risk() == set()
    assert platform_risks([same_day, later]) == {}


def test_a_delivered_platform_that_ended_before_is_no_risk_but_a_red_one_is(people):
    """Done platforms were delivered: their end date is no deadline for the work resting on them."""
    delivered = core(people, status="done", end_date=dt.date(2026, 3, 31))
    on_delivered = fast_on(delivered, people)
    red_delivered = core(people, status="done", end_date=dt.date(2026, 3, 31), health="red")
    on_red = fast_on(red_delivered, people)

    assert on_delivered.code not in at_risk()
    assert at_risk() == at_risk(PlatformRisk.RED) == {on_red.code}


def test_a_cancelled_red_platform_ending_first_counts_as_cancelled_only(people):
    platform = core(people, status="cancelled", health="red", end_date=dt.date(2026, 6, 30))
    dependent = fast_on(platform, people)

    assert platform_risks([dependent])[dependent.pk][0].causes == (PlatformRisk.CANCELLED,)
    assert at_risk(PlatformRisk.RED) == at_risk(PlatformRisk.ENDS_FIRST) == set()


def test_a_red_platform_ending_first_counts_for_both_causes_and_lists_them(people):
    platform = core(people, status="in_progress", health="red", end_date=dt.date(2026, 6, 30))
    dependent = fast_on(platform, people)

    [risk] = platform_risks([dependent])[dependent.pk]
    assert risk.causes == (PlatformRisk.RED, PlatformRisk.ENDS_FIRST)
    assert risk.words == "red health, ends 30 Jun 2026, first"
    assert at_risk(PlatformRisk.RED) == at_risk(PlatformRisk.ENDS_FIRST) == {dependent.code}


@pytest.mark.parametrize("status", ["cancelled", "rejected", "done"])
def test_work_that_is_cancelled_rejected_or_done_is_not_at_risk(people, status):
    fast_on(core(people, status="cancelled"), people, status=status)

    assert at_risk() == set()


@pytest.mark.parametrize("status", ["draft", "submitted", "approved", "in_progress"])
def test_open_work_is_at_risk_from_draft_to_in_progress(people, status):
    dependent = fast_on(core(people, status="cancelled"), people, status=status)

    assert at_risk() == {dependent.code}


def test_only_core_stack_platforms_and_fast_lane_dependents_count(people):
    cancelled_fast = InitiativeFactory(lane="fast_lane", status="cancelled", **people)
    fast_on(cancelled_fast, people)  # a fast-lane "platform" is no platform
    core_dependent = InitiativeFactory(lane="core_stack", status="approved", **people)
    core_dependent.platforms.add(core(people, status="cancelled"))

    assert at_risk() == set()


def test_one_risky_platform_among_sound_ones_is_enough_and_only_it_is_listed(people):
    sound, risky = core(people), core(people, status="rejected")
    dependent = fast_on(sound, people)
    dependent.platforms.add(risky)

    assert at_risk() == {dependent.code}
    assert [risk.code for risk in platform_risks([dependent.pk])[dependent.pk]] == [risky.code]


# --- digital islands -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [(80, {"80.00", "100.00"}), (60, {"60.00", "79.99", "80.00", "100.00"}), (100, {"100.00"})],
)
def test_the_island_threshold_is_the_setting(people, threshold, expected):
    for share in ("59.99", "60.00", "79.99", "80.00", "100.00"):
        InitiativeFactory(lane="fast_lane", status="approved", marketing_share_pct=D(share), title=share, **people)

    with override_settings(DIGITAL_ISLAND_SHARE_PCT=threshold):
        found = set(Initiative.objects.filter(digital_island_q()).values_list("title", flat=True))

    assert found == expected


def test_a_core_stack_platform_makes_it_no_island_a_fast_lane_one_does_not(people):
    on_core = InitiativeFactory(lane="fast_lane", status="approved", marketing_share_pct=D("90.00"), **people)
    on_core.platforms.add(core(people))
    on_fast = InitiativeFactory(lane="fast_lane", status="approved", marketing_share_pct=D("90.00"), **people)
    on_fast.platforms.add(InitiativeFactory(lane="fast_lane", status="approved", **people))
    alone = InitiativeFactory(lane="fast_lane", status="draft", marketing_share_pct=D("90.00"), **people)

    assert islands() == {on_fast.code, alone.code}


def test_cancelled_rejected_and_core_stack_initiatives_are_no_islands(people):
    for status in ("cancelled", "rejected"):
        InitiativeFactory(lane="fast_lane", status=status, marketing_share_pct=D("100.00"), **people)
    InitiativeFactory(lane="core_stack", status="approved", marketing_share_pct=D("100.00"), **people)
    done = InitiativeFactory(lane="fast_lane", status="done", marketing_share_pct=D("100.00"), **people)

    assert islands() == {done.code}


# --- the list filters, the API and the initiative page -----------------------------------------


def list_codes(client, user, **params) -> set[str]:
    client.force_login(user)
    response = client.get("/initiatives/", {"per_page": 100, **params})
    assert response.status_code == 200
    return {initiative.code for initiative in response.context["page"].object_list}


def test_the_list_filters_by_platform_risk_any_cause_or_one_and_by_digital_island(client, finance, people):
    on_cancelled = fast_on(core(people, status="cancelled"), people)
    on_red = fast_on(core(people, health="red"), people)
    fast_on(core(people), people)  # sound
    island = InitiativeFactory(lane="fast_lane", status="approved", marketing_share_pct=D("85.00"), **people)

    assert list_codes(client, finance, platform_risk="1") == {on_cancelled.code, on_red.code}
    assert list_codes(client, finance, platform_risk="cancelled") == {on_cancelled.code}
    assert list_codes(client, finance, platform_risk="red") == {on_red.code}
    assert list_codes(client, finance, platform_risk="ends_first") == set()
    assert list_codes(client, finance, digital_island="1") == {island.code}
    response = client.get("/initiatives/", {"platform_risk": "1"})
    assert 'id="filter-platform_risk"' in response.text  # said in words, kept on Apply
    assert '<input type="hidden" name="platform_risk" value="1">' in response.text


def test_the_api_filters_the_same_way(client, finance, people):
    on_rejected = fast_on(core(people, status="rejected"), people)
    island = InitiativeFactory(lane="fast_lane", status="approved", marketing_share_pct=D("100.00"), **people)
    client.force_login(finance)

    risky = client.get("/api/initiatives/", {"platform_risk": "rejected"}).json()["results"]
    found_islands = client.get("/api/initiatives/", {"digital_island": "1"}).json()["results"]

    assert [row["code"] for row in risky] == [on_rejected.code]
    assert [row["code"] for row in found_islands] == [island.code]


def test_an_unknown_platform_risk_is_refused_by_the_api(client, finance):
    client.force_login(finance)

    assert client.get("/api/initiatives/", {"platform_risk": "purple"}).status_code == 400


def test_the_initiative_page_shows_the_risk_next_to_the_platform(client, finance, people):
    risky = core(people, status="in_progress", end_date=dt.date(2026, 9, 30))
    sound = core(people)
    dependent = fast_on(risky, people)
    dependent.platforms.add(sound)
    client.force_login(finance)

    text = client.get(f"/initiatives/{dependent.code}/").text
    sound_page = client.get(f"/initiatives/{sound.code}/").text

    assert "ends 30 Sep 2026, first</span>" in text
    assert text.count('class="badge bg-danger-subtle text-danger-emphasis platform-risk"') == 1
    assert "Rests on 1 risky platform" in text
    assert "platform-risk" not in sound_page


def test_the_initiative_page_never_counts_a_risky_platform_the_viewer_may_not_see(client, pm, other_pm, people):
    hidden = core(people, owner=other_pm, status="draft", end_date=dt.date(2026, 9, 30))  # another PM's draft
    dependent = fast_on(hidden, people)  # the PM's own initiative, at risk through it
    dependent.platforms.add(core(people))  # and a sound platform the PM sees
    client.force_login(pm)

    text = client.get(f"/initiatives/{dependent.code}/").text

    assert Initiative.objects.filter(platform_risk_q(), pk=dependent.pk).exists()  # the rule sees the risk
    assert hidden.title not in text
    assert "risky platform" not in text and "platform-risk" not in text


def test_removing_one_list_filter_keeps_the_other(client, finance):
    client.force_login(finance)

    text = client.get("/initiatives/", {"platform_risk": "1", "digital_island": "1"}).text

    assert 'href="?digital_island=1">Remove this filter' in text  # removes platform_risk only
    assert 'href="?platform_risk=1">Remove this filter' in text  # removes digital_island only
