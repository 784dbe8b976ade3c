"""In a real browser, on a desktop and on a phone: the dashboard's labels stay readable and its header and filters
keep their places.

The variance chart is checked on what ECharts actually drew: every piece of text (names, figures, axis ticks)
inside the chart and clear of every other. Screenshots are kept in test-artifacts/. Without Chromium or
Playwright the tests are skipped locally and fail under CI=true.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from split.services import split_recompute
from tests.conftest import ARTIFACTS, browser_sign_in
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory, UserFactory

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
FILTERED = "fiscal_year=2026&quarter=1&lane=core_stack&side=marketing&status=in_progress"
# Planned and actual per initiative: large variances of both signs, as on the demo data.
PLANS = [
    ("Data quality migration for the customer master", "900000.00", "416469.55"),
    ("Identity and access management consolidation", "600000.00", "348393.18"),
    ("ERP re-platforming of the European entities", "540900.00", "681209.96"),
    ("Customer data platform migration", "435600.00", "556468.21"),
    ("Data warehouse rollout – pilot markets", "500000.00", "263131.12"),
    ("Email journey rollout", "300000.00", "116876.65"),
    ("Integration platform re-platforming", "250000.00", "77028.78"),
    ("Shoppable video relaunch", "200000.00", "47245.50"),
    ("Product detail page pilot (LATAM)", "180000.00", "50022.32"),
    ("Data warehouse rollout – wave 2", "150000.00", "35777.61"),
]

# Every text ECharts drew in a chart, as rectangles in the chart's own pixels.
CHART_TEXTS = """(id) => {
  const chart = echarts.getInstanceByDom(document.getElementById(id));
  const texts = [];
  chart.getZr().storage.getDisplayList(true).forEach((el) => {
    if (el.type !== "tspan" || el.ignore || el.invisible || !el.style || !el.style.text) return;
    const rect = el.getBoundingRect().clone();
    rect.applyTransform(el.getComputedTransform());
    texts.push({ text: el.style.text, x: rect.x, y: rect.y, w: rect.width, h: rect.height });
  });
  return { width: chart.getWidth(), height: chart.getHeight(), texts };
}"""


@pytest.fixture
def signed_in(browser, live_server, transactional_db):
    cmo = UserFactory(username="cmo", role="executive", side="marketing", first_name="Victoria", last_name="Hale")
    for title, planned, actual in PLANS:
        initiative = InitiativeFactory(
            lane="core_stack", status="in_progress", marketing_sponsor=cmo, owner=cmo, title=title
        )
        BudgetLineFactory(initiative=initiative, month=dt.date(2026, 2, 1), amount=Decimal(planned))
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 2, 10), amount=Decimal(actual))
    split_recompute(trigger="command")

    def open_page(viewport: dict, query: str = "fiscal_year=2026"):
        page = browser.new_context(viewport=viewport).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        browser_sign_in(page, live_server.url, "cmo", wait="networkidle")
        page.goto(f"{live_server.url}/dashboard/?{query}")
        page.wait_for_load_state("networkidle")
        page.wait_for_selector("#chart-variances canvas")
        page.wait_for_timeout(600)  # the entry animation
        page.errors = errors
        return page

    return open_page


def overlapping(texts: list[dict]) -> list[tuple[str, str]]:
    slack = 0.5
    return [
        (a["text"], b["text"])
        for index, a in enumerate(texts)
        for b in texts[index + 1 :]
        if a["x"] < b["x"] + b["w"] - slack
        and b["x"] < a["x"] + a["w"] - slack
        and a["y"] < b["y"] + b["h"] - slack
        and b["y"] < a["y"] + a["h"] - slack
    ]


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_the_variance_chart_keeps_every_name_and_figure_inside_and_apart(signed_in, name, viewport):
    page = signed_in(viewport)
    drawn = page.evaluate(CHART_TEXTS, "chart-variances")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#chart-variances").screenshot(path=str(ARTIFACTS / f"dashboard-variances-{name}.png"))

    texts = drawn["texts"]
    assert len(texts) >= 20  # ten names and ten figures at least
    outside = [
        t["text"]
        for t in texts
        if t["x"] < 0 or t["y"] < 0 or t["x"] + t["w"] > drawn["width"] + 0.5 or t["y"] + t["h"] > drawn["height"] + 0.5
    ]
    assert outside == []
    assert overlapping(texts) == []
    # Over plan is negative (planned − actual) and said so; the figures keep their sign.
    figures = [t["text"] for t in texts if t["text"][0] in "+\u2212"]
    assert sum(f.startswith("\u2212") for f in figures) >= 2
    assert "negative, left of zero" in page.inner_text("#h-variances ~ .card-body .variance-legend")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.errors == []


@pytest.mark.parametrize("query", ["fiscal_year=2026", FILTERED])
def test_the_header_and_filters_keep_their_places_with_or_without_filters(signed_in, query):
    page = signed_in(DESKTOP, query)
    title = page.locator(".dashboard-title").bounding_box()
    as_of = page.locator(".dashboard-header .as-of").bounding_box()
    header = page.locator(".dashboard-header").bounding_box()
    fields = page.locator(".dashboard-filters .filter-row").bounding_box()
    note = page.locator(".dashboard-filters .filter-note").bounding_box()

    # "Figures as of" at the top right, beside the title: not dropped under it.
    assert as_of["x"] > title["x"] + title["width"] - 1
    assert abs((as_of["x"] + as_of["width"]) - (header["x"] + header["width"])) < 2
    assert as_of["y"] < title["y"] + title["height"]
    # The help note under the filters, where the fields start: no floating island.
    assert note["y"] >= fields["y"] + fields["height"] - 1
    assert abs(note["x"] - fields["x"]) < 2


def test_on_a_phone_titles_stay_on_one_line_and_the_header_stacks(signed_in):
    page = signed_in(PHONE)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    title = page.locator(".dashboard-title").bounding_box()
    as_of = page.locator(".dashboard-header .as-of").bounding_box()

    assert as_of["y"] >= title["y"] + title["height"] - 1 and abs(as_of["x"] - title["x"]) < 2
    # The chart legend sits under the card title, not beside it: the title keeps one line.
    monthly = page.locator("#h-monthly")
    line = float(monthly.evaluate("el => parseFloat(getComputedStyle(el).lineHeight) || 24"))
    box = monthly.bounding_box()
    padding = float(monthly.evaluate("el => parseFloat(getComputedStyle(el).paddingTop) * 2"))
    assert box["height"] - padding < line * 1.5
    assert page.locator("#h-monthly .chart-legend").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
