"""In a real browser: an executive ticks every initiative on a list page, adds one change to them all in a new
scenario, and lands on the scenario with a change per initiative (Debian's Chromium through Playwright)."""

from __future__ import annotations

import datetime as dt

import pytest

from scenarios.models import Scenario
from tests.conftest import browser_sign_in
from tests.factories import InitiativeFactory, UserFactory

pytestmark = pytest.mark.browser


def test_tick_all_then_add_to_a_new_scenario(browser, live_server, transactional_db):
    from playwright.sync_api import expect

    cmo = UserFactory(username="cmo", role="executive", side="marketing")
    codes = sorted(
        InitiativeFactory(status="approved", start_date=dt.date(2026, 1, 5), end_date=dt.date(2026, 12, 20)).code
        for _ in range(3)
    )
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    browser_sign_in(page, live_server.url, "cmo", "/initiatives/")
    page.check("input[data-check-all=initiative]")
    expect(page.locator("table input[name=initiative]:checked")).to_have_count(3)
    page.uncheck(f"table input[name=initiative][value={codes[0]}]")
    page.click("text=Add to scenario…")
    expect(page.locator("h1")).to_have_text("Add to a scenario")
    expect(page.locator(".selected-initiatives li")).to_have_count(2)

    page.fill("#id_new_name", "Marketing pays more")
    page.select_option("#id_kind", "share")
    page.fill("#id_from_month", "2026-04")
    page.fill("#id_marketing_share_pct", "75")
    page.click("button:has-text('Add to the scenario')")
    expect(page.locator("h1")).to_have_text("Marketing pays more")
    scenario = Scenario.objects.get(author=cmo)
    assert sorted(scenario.changes.values_list("initiative__code", flat=True)) == codes[1:]
    assert page.locator("table tbody tr").count() == 2
