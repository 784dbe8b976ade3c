"""In a real browser: a PM files and submits an initiative, then both sponsors approve it.

Playwright for Python drives Debian's Chromium (/usr/bin/chromium, never a
downloaded browser). Screenshots of every step are kept in test-artifacts/.
Without Chromium or Playwright the test is skipped locally and fails under CI=true.
"""

from __future__ import annotations

import pytest

from initiatives.choices import Status
from initiatives.models import Initiative
from tests.conftest import ARTIFACTS, browser_sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def _sign_in(browser, live_server, username: str, path: str):
    """A fresh browser session that signs in through the login page and lands on `path` (via ?next=)."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    browser_sign_in(page, live_server.url, username, path)
    assert page.url == f"{live_server.url}{path}"
    return page


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky navigation stays on top of a full-page shot
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_pm_files_and_submits_then_both_sponsors_approve(browser, live_server, transactional_db):
    from playwright.sync_api import expect

    pm = UserFactory(username="pm.marketing", role="pm", side="marketing", first_name="Olivia", last_name="Bennett")
    cmo = UserFactory(username="cmo", role="executive", side="marketing", first_name="Victoria", last_name="Hale")
    cio = UserFactory(username="cio", role="executive", side="it", first_name="Robert", last_name="Nakamura")
    assert pm and cmo and cio

    # The PM files an initiative.
    page = _sign_in(browser, live_server, "pm.marketing", "/initiatives/new/")
    _shot(page, "01-filing-form-empty")
    page.fill("#id_title", "Loyalty app relaunch")
    page.fill("#id_summary", "Grow repeat purchases by 10 % with a rewards app.")
    page.select_option("#id_marketing_sponsor", label="Victoria Hale")
    page.select_option("#id_it_sponsor", label="Robert Nakamura")
    page.fill("#id_start_date", "2026-02-01")
    page.fill("#id_end_date", "2026-09-30")
    page.fill("#id_marketing_share_pct", "60")
    for question, answer in [
        ("customer_facing", 0),  # yes
        ("maturity", 0),  # an experiment
        ("quick_time_to_market", 0),  # yes
        ("systems_of_record", 1),  # no
        ("regulated_data", 1),  # no
        ("lifespan", 0),  # under a year
    ]:
        page.click(f"label[for=id_assessment_{question}_{answer}]")
    # The recommendation appears as the PM answers (htmx), before anything is saved.
    recommendation = page.locator("#lane-recommendation")
    expect(recommendation).to_contain_text("Fast lane")
    expect(recommendation).to_contain_text("An experiment should be cheap to start and easy to stop.")
    page.click("label[for=id_lane_1]")  # core stack: against the recommendation
    expect(recommendation).to_contain_text("explain why")
    page.click("label[for=id_lane_0]")  # back to the fast lane
    expect(recommendation).to_contain_text("matches the recommendation")
    _shot(page, "02-filing-form-filled")
    page.click("button:has-text('Save draft')")
    expect(page.locator(".alert-success")).to_contain_text("saved as a draft")
    initiative = Initiative.objects.get()
    assert page.url.endswith(f"/initiatives/{initiative.code}/")

    # Saved without an estimate: submitting sends the PM back to the form, the error next to the field.
    page.click("button:has-text('Submit for approval')")
    expect(page.locator("#id_estimated_cost_error")).to_contain_text("Enter the estimated cost before submitting")
    page.fill("#id_estimated_cost", "500000")
    page.click("button:has-text('Save and submit for approval')")
    expect(page.locator("#initiative-status")).to_have_text("Submitted")
    expect(page.locator("#estimate")).to_contain_text("marketing 60 % · $300,000")
    _shot(page, "03-detail-submitted")

    # The marketing sponsor approves: one sign-off is not enough.
    page = _sign_in(browser, live_server, "cmo", f"/initiatives/{initiative.code}/")
    page.click("button:has-text('Approve')")
    expect(page.locator(".alert-success")).to_contain_text(f"You approved {initiative.code}")
    expect(page.locator("#initiative-status")).to_have_text("Submitted")
    _shot(page, "04-detail-marketing-approved")
    initiative.refresh_from_db()
    assert initiative.status == Status.SUBMITTED

    # The IT sponsor approves: now it is approved.
    page = _sign_in(browser, live_server, "cio", f"/initiatives/{initiative.code}/")
    page.click("button:has-text('Approve')")
    expect(page.locator("#initiative-status")).to_have_text("Approved")
    _shot(page, "05-detail-approved")
    initiative.refresh_from_db()
    assert initiative.status == Status.APPROVED

    page.goto(f"{live_server.url}/initiatives/")
    expect(page.locator("table")).to_contain_text("Loyalty app relaunch")
    _shot(page, "06-list")


def test_the_lane_follows_the_recommendation_until_the_pm_chooses_one(browser, live_server, transactional_db):
    # Issue 14: the questionnaire warned "you chose the other lane" before any lane was chosen,
    # and never pre-selected the recommendation.
    from playwright.sync_api import expect

    UserFactory(username="pm.marketing", role="pm", side="marketing")
    page = _sign_in(browser, live_server, "pm.marketing", "/initiatives/new/")
    console_errors = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    recommendation = page.locator("#lane-recommendation")
    fast, core = page.locator("#id_lane_0"), page.locator("#id_lane_1")

    def answer(**answers: int) -> None:
        for question, index in answers.items():
            page.click(f"label[for=id_assessment_{question}_{index}]")

    answer(customer_facing=0, maturity=0, quick_time_to_market=0, systems_of_record=1, regulated_data=1)
    expect(recommendation).to_contain_text("1 question left")
    expect(fast).not_to_be_checked()  # no recommendation yet, nothing chosen for the PM
    expect(core).not_to_be_checked()
    answer(lifespan=0)  # the sixth answer: fast lane recommended, and selected for the PM
    expect(recommendation).to_contain_text("The recommended lane is selected below")
    expect(fast).to_be_checked()
    expect(recommendation.locator(".alert-warning")).to_have_count(0)
    _shot(page, "lane-preselected")

    # Answers that now point to the core stack: a pre-selected lane follows, still without a warning.
    answer(customer_facing=1, maturity=1, systems_of_record=0, regulated_data=0)
    expect(recommendation).to_contain_text("Core stack")
    expect(core).to_be_checked()
    expect(recommendation).to_contain_text("The recommended lane is selected below")
    expect(recommendation.locator(".alert-warning")).to_have_count(0)

    # The PM's own choice against the recommendation: the warning, and it stays theirs.
    page.click("label[for=id_lane_0]")
    expect(recommendation.locator(".alert-warning")).to_contain_text("explain why")
    answer(lifespan=2)
    expect(recommendation).to_contain_text("A long lifespan")
    expect(fast).to_be_checked()
    expect(recommendation.locator(".alert-warning")).to_contain_text("explain why")
    _shot(page, "lane-other-chosen")
    assert console_errors == []
