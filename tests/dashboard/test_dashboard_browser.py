"""In a real browser: the dashboard draws its four charts with the app's own ECharts, and a chart leads to its rows.

Playwright for Python drives Debian's Chromium (/usr/bin/chromium). The screenshot
is kept in test-artifacts/. Without Chromium or Playwright the test is skipped
locally and fails under CI=true.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from split.services import split_recompute
from tests.conftest import ARTIFACTS, browser_sign_in
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory, UserFactory

pytestmark = pytest.mark.browser

CHARTS = ("chart-monthly", "chart-lanes", "chart-trend", "chart-variances")


def test_the_dashboard_draws_its_charts_and_a_chart_drills_into_the_initiatives(browser, live_server, transactional_db):
    cmo = UserFactory(username="cmo", role="executive", side="marketing", first_name="Victoria", last_name="Hale")
    fast = InitiativeFactory(lane="fast_lane", status="in_progress", marketing_sponsor=cmo, title="Loyalty app")
    core = InitiativeFactory(lane="core_stack", status="in_progress", marketing_sponsor=cmo, title="ERP upgrade")
    for month in range(1, 7):
        BudgetLineFactory(initiative=fast, month=dt.date(2026, month, 1), amount=Decimal("9000.00"))
        BudgetLineFactory(initiative=core, month=dt.date(2026, month, 1), amount=Decimal("3000.00"))
        ExpenseFactory(initiative=fast, incurred_on=dt.date(2026, month, 10), amount=Decimal("8000.00"))
        ExpenseFactory(initiative=core, incurred_on=dt.date(2026, month, 10), amount=Decimal("3500.00"))
    split_recompute(trigger="command")

    page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    browser_sign_in(page, live_server.url, "cmo", "/dashboard/?fiscal_year=2026", wait="networkidle")

    for chart in CHARTS:
        page.wait_for_selector(f"#{chart} canvas")
    assert page.evaluate("typeof echarts") == "object"
    page.wait_for_timeout(600)  # let the entry animation finish before the screenshot
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert errors == []

    # The fast lane is three quarters of the spend: the ring at three o'clock is the fast lane.
    # (Below the headline figures and the forecast: the mouse clicks only what is in the viewport.)
    page.locator("#chart-lanes").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = page.locator("#chart-lanes").bounding_box()
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.44
    radius = min(box["width"], box["height"]) / 2 * 0.64
    with page.expect_navigation():
        page.mouse.click(centre_x + radius, centre_y)
    assert page.url.endswith("/initiatives/?fiscal_year=2026&lane=fast_lane")
