"""The roadmap: the list's initiatives (visibility, filters) as bars by lane on a month axis, paged."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from initiatives.choices import Status
from initiatives.models import Initiative
from initiatives.roadmap import Window, bar, fiscal_year_window, span_window
from tests.factories import InitiativeFactory

pytestmark = pytest.mark.django_db

ROADMAP = reverse("initiatives:roadmap")


def _codes(response) -> list[str]:
    return [b.initiative.code for lane in response.context["swim_lanes"] for b in lane.bars]


def _bar(response, code: str):
    return next(b for lane in response.context["swim_lanes"] for b in lane.bars if b.initiative.code == code)


# --- the window and the bars (pure) -----------------------------------------------------------------


def test_a_bar_is_placed_in_percent_of_the_window_by_day():
    """2026 has 365 days: April 1 begins after 90 of them, September 30 ends after 273."""
    window = Window(first=dt.date(2026, 1, 1), last=dt.date(2026, 12, 31))
    initiative = Initiative(start_date=dt.date(2026, 4, 1), end_date=dt.date(2026, 9, 30))
    placed = bar(initiative, window)
    assert placed.left == Decimal("24.66")  # 90 / 365
    assert placed.width == Decimal("50.13")  # 74.79 (273 / 365) − 24.66: left + width is the rounded end
    assert not placed.starts_before and not placed.ends_after and not placed.outside


def test_a_bar_is_cut_at_the_window_edges_and_one_outside_is_not_drawn():
    window = Window(first=dt.date(2026, 1, 1), last=dt.date(2026, 12, 31))
    across = bar(Initiative(start_date=dt.date(2025, 7, 1), end_date=dt.date(2027, 3, 31)), window)
    assert (across.left, across.width, across.starts_before, across.ends_after) == (0, 100, True, True)
    before = bar(Initiative(start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 6, 30)), window)
    assert before.outside and before.width == 0


def test_the_window_is_the_fiscal_year_or_the_span_of_the_page(settings):
    settings.FISCAL_YEAR_START_MONTH = 7
    window = fiscal_year_window(2027)
    assert (window.first, window.last) == (dt.date(2026, 7, 1), dt.date(2027, 6, 30))
    assert [tick.label for tick in window.ticks()][:3] == ["Jul 2026", "Aug", "Sep"]
    assert [tick.label for tick in window.ticks() if tick.compact] == ["Jul 2026", "Oct", "Jan 2027", "Apr"]
    rows = [
        Initiative(start_date=dt.date(2026, 3, 15), end_date=dt.date(2026, 5, 2)),
        Initiative(start_date=dt.date(2026, 2, 20), end_date=dt.date(2026, 4, 1)),
    ]
    span = span_window(rows, today=dt.date(2026, 12, 7))
    assert (span.first, span.last) == (dt.date(2026, 2, 1), dt.date(2026, 5, 31))
    assert span_window([], today=dt.date(2026, 12, 7)).first == dt.date(2026, 12, 1)


def test_a_long_window_labels_quarters_then_years():
    two_years = Window(first=dt.date(2025, 1, 1), last=dt.date(2026, 12, 31))
    assert [tick.label for tick in two_years.ticks()] == [
        "Jan 2025", "Apr", "Jul", "Oct", "Jan 2026", "Apr", "Jul", "Oct"
    ]  # fmt: skip
    assert [tick.label for tick in two_years.ticks() if tick.compact] == ["Jan 2025", "Jan 2026"]
    five_years = Window(first=dt.date(2024, 1, 1), last=dt.date(2028, 12, 31))
    assert [tick.label for tick in five_years.ticks()] == ["Jan 2024", "Jan 2025", "Jan 2026", "Jan 2027", "Jan 2028"]


# --- the page --------------------------------------------------------------------------------------


def test_the_page_draws_a_known_initiative_at_its_place_in_the_fiscal_year(client, executive_marketing):
    known = InitiativeFactory(
        status=Status.IN_PROGRESS, health="red", start_date=dt.date(2026, 4, 1), end_date=dt.date(2026, 9, 30)
    )
    client.force_login(executive_marketing)
    response = client.get(ROADMAP, {"fiscal_year": "2026"})
    assert response.status_code == 200
    assert response.context["window"] == Window(first=dt.date(2026, 1, 1), last=dt.date(2026, 12, 31))
    placed = _bar(response, known.code)
    assert (placed.left, placed.width) == (Decimal("24.66"), Decimal("50.13"))
    html = response.content.decode()
    rect = re.search(r'<rect class="rm-bar rm-status-in_progress rm-health-red"[^>]*>', html).group(0)
    assert 'x="24.66%"' in rect and 'width="50.13%"' in rect
    assert f'href="{reverse("initiatives:detail", args=[known.code])}"' in html
    assert "(fiscal year FY2026)" in html


def test_two_swim_lanes_with_the_platforms_each_fast_lane_initiative_builds_on(client, executive_marketing):
    platform = InitiativeFactory(
        lane="core_stack", status=Status.CANCELLED, health="red", title="ERP core", end_date=dt.date(2026, 6, 30)
    )
    fast = InitiativeFactory(lane="fast_lane", status=Status.APPROVED, title="Loyalty app")
    fast.platforms.add(platform)
    client.force_login(executive_marketing)
    response = client.get(ROADMAP)
    lanes = {lane.lane: [b.initiative.code for b in lane.bars] for lane in response.context["swim_lanes"]}
    assert lanes == {"fast_lane": [fast.code], "core_stack": [platform.code]}
    assert [p.code for p in _bar(response, fast.code).platforms] == [platform.code]
    html = re.sub(r"\s+", " ", response.content.decode())
    assert f'>{platform.code}</a> <span class="rm-dep-facts">(cancelled, red, ends Jun 30, 2026)</span>' in html
    assert "builds on" in html
    # The platform-risk rule (initiatives.platforms) flags it: a cancelled platform counts for that cause alone.
    assert "at risk: cancelled</span>" in html


def test_a_sound_platform_is_listed_without_a_risk_flag(client, executive_marketing):
    platform = InitiativeFactory(
        lane="core_stack", status=Status.APPROVED, health="green", end_date=dt.date(2030, 1, 1)
    )
    fast = InitiativeFactory(lane="fast_lane", status=Status.APPROVED, end_date=dt.date(2027, 1, 1))
    fast.platforms.add(platform)
    client.force_login(executive_marketing)
    html = client.get(ROADMAP).content.decode()
    assert f">{platform.code}</a>" in html
    assert "at risk:" not in html


def test_a_pm_sees_on_the_roadmap_what_the_list_shows_them(client, pm, other_pm, executive_marketing):
    mine_draft = InitiativeFactory(owner=pm, status=Status.DRAFT)
    others_draft = InitiativeFactory(owner=other_pm, status=Status.DRAFT, lane="core_stack")
    others_submitted = InitiativeFactory(owner=other_pm, status=Status.SUBMITTED)
    mine_draft.platforms.add(others_draft)  # a platform the PM may not see is not named either
    client.force_login(pm)
    listed = [i.code for i in client.get(reverse("initiatives:list")).context["page"].object_list]
    response = client.get(ROADMAP)
    assert sorted(_codes(response)) == sorted(listed) == sorted([mine_draft.code, others_submitted.code])
    assert _bar(response, mine_draft.code).platforms == []
    assert others_draft.code not in response.content.decode()
    client.force_login(executive_marketing)
    assert len(_codes(client.get(ROADMAP))) == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"lane": "core_stack"}, ["ERP"]),
        ({"status": "in_progress"}, ["Checkout"]),
        ({"health": "red"}, ["Checkout"]),
        ({"q": "erp"}, ["ERP"]),
        ({"fiscal_year": "2025"}, ["Old"]),
        ({"mine": "owned"}, ["ERP"]),
    ],
)
def test_every_list_filter_reaches_the_roadmap(client, pm, other_pm, query, expected):
    InitiativeFactory(title="ERP", lane="core_stack", status=Status.APPROVED, owner=pm)
    InitiativeFactory(title="Checkout", status=Status.IN_PROGRESS, health="red", owner=other_pm)
    InitiativeFactory(
        title="Old", status=Status.DONE, owner=other_pm, start_date=dt.date(2024, 3, 1), end_date=dt.date(2025, 2, 1)
    )
    client.force_login(pm)
    response = client.get(ROADMAP, query)
    titles = [b.initiative.title for lane in response.context["swim_lanes"] for b in lane.bars]
    assert titles == expected
    listed = [i.title for i in client.get(reverse("initiatives:list"), query).context["page"].object_list]
    assert listed == expected


def test_the_roadmap_is_paged_in_time_order_never_one_page_of_everything(client, executive_marketing):
    for number in range(60):
        InitiativeFactory(
            status=Status.APPROVED, start_date=dt.date(2026, 1, 1) + dt.timedelta(days=number), title=f"Item {number}"
        )
    client.force_login(executive_marketing)
    first = client.get(ROADMAP)
    assert first.context["paginator"].count == 60
    assert len(_codes(first)) == 50
    starts = [b.initiative.start_date for lane in first.context["swim_lanes"] for b in lane.bars]
    assert starts == sorted(starts) and starts[0] == dt.date(2026, 1, 1)
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(ROADMAP, {"page": 2})
    assert len(_codes(second)) == 10
    assert not set(_codes(first)) & set(_codes(second))
    resorted = client.get(ROADMAP, {"sort": "-start"})
    assert resorted.context["swim_lanes"][0].bars[0].initiative.title == "Item 59"


def _portfolio(count: int, platforms) -> None:
    for number in range(count):
        initiative = InitiativeFactory(status=Status.APPROVED, lane="fast_lane" if number % 2 else "core_stack")
        initiative.platforms.add(*platforms[: number % 4])


@pytest.mark.parametrize("who", ["executive_marketing", "pm"])
def test_the_roadmap_runs_a_fixed_number_of_queries_whatever_the_size(
    client, request, who, executive_marketing, django_assert_max_num_queries
):
    """The session, the user and their roles, the count, the page's rows, their platforms (one prefetch) and
    their risks (one), the sponsor choices, the profile, and an executive's approvals badge (two): eleven at most,
    the same at 6 initiatives as at 66 (two pages) with their platforms."""
    platforms = [InitiativeFactory(lane="core_stack", status=Status.APPROVED) for _ in range(3)]
    client.force_login(request.getfixturevalue(who))
    query = {"health": "green", "sort": "title"}
    sizes = []
    for count in (3, 60):
        _portfolio(count, platforms)
        with django_assert_max_num_queries(11) as queries:
            response = client.get(ROADMAP, query)
        assert response.status_code == 200
        sizes.append(len(queries))
    assert response.context["paginator"].count == 66
    assert sizes[0] == sizes[1]


def test_the_roadmap_is_linked_from_the_navigation_and_the_list(client, pm):
    client.force_login(pm)
    html = client.get(reverse("initiatives:list"), {"lane": "fast_lane"}).content.decode()
    assert f'href="{ROADMAP}?lane=fast_lane"' in html
    assert f'href="{ROADMAP}"' in html  # the navigation
    assert 'aria-current="page" href="' + ROADMAP + '">Roadmap' in client.get(ROADMAP).content.decode()


def test_an_empty_roadmap_says_so(client, pm):
    client.force_login(pm)
    response = client.get(ROADMAP, {"q": "nothing like this"})
    assert response.status_code == 200
    assert "No initiative matches" in response.content.decode()
