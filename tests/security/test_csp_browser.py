"""In a real browser: no page breaks the Content Security Policy.

Chromium reports every blocked inline script, inline style, style attribute, event
handler or foreign resource as a console message containing "Content Security Policy"
and as a `securitypolicyviolation` event; this visits the pages of every role, works
the interactive parts (the HTMX lane recommendation, the budget grid's live totals, a
confirm dialog), and expects neither.

Playwright for Python drives Debian's Chromium (/usr/bin/chromium). Without them the
test is skipped locally and fails under CI=true (the pattern of tests/initiatives/test_browser.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from split.services import split_recompute
from tests.conftest import browser_sign_in
from tests.factories import (
    BudgetLineFactory,
    ExpenseFactory,
    FxRateFactory,
    InitiativeFactory,
    PeriodLockFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser


# Collects what the page itself sees, in case a message never reaches the console.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


class Visitor:
    """One signed-in (or anonymous) browser session that notes every CSP violation per page."""

    def __init__(self, browser, live_server, username: str | None):
        self.base = live_server.url
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))
        # Leave pages with unsaved changes; say "no" to every "Delete …?" question.
        self.page.on("dialog", lambda dialog: dialog.accept() if dialog.type == "beforeunload" else dialog.dismiss())
        self.found: dict[str, list[str]] = {}
        if username:
            browser_sign_in(self.page, self.base, username)

    def visit(self, path: str, expected_status: int = 200, then=None) -> None:
        self.console.clear()
        response = self.page.goto(f"{self.base}{path}")
        assert response is not None and response.status == expected_status, f"{path}: {response and response.status}"
        self.page.wait_for_load_state("networkidle")
        if then:
            then(self.page)
            self.page.wait_for_load_state("networkidle")
        self.note(path)

    def note(self, label: str) -> None:
        blocked = [text for text in self.console if "Content Security Policy" in text]
        blocked += self.page.evaluate("window.__cspViolations || []")
        if blocked:
            self.found[label] = blocked


def _answer_the_lane_questions(page) -> None:
    from playwright.sync_api import expect

    for question, answer in [
        ("customer_facing", 0),
        ("maturity", 0),
        ("quick_time_to_market", 0),
        ("systems_of_record", 1),
        ("regulated_data", 1),
    ]:
        page.click(f"label[for=id_assessment_{question}_{answer}]")
    # Half answered: the progress bar (width set by static/js/ui.js) is swapped in by htmx.
    bar = page.locator("#lane-recommendation .progress-bar")
    expect(bar).to_have_attribute("style", "width: 83%;")
    page.click("label[for=id_assessment_lifespan_0]")
    expect(page.locator("#lane-recommendation")).to_contain_text("Fast lane")
    page.click("label[for=id_lane_1]")  # against the recommendation: the warning is swapped in
    expect(page.locator("#lane-recommendation")).to_contain_text("explain why")


def _type_into_the_budget_grid(page) -> None:
    from playwright.sync_api import expect

    page.locator("input.grid-cell:not([disabled])").first.fill("1234.56")
    expect(page.locator("[data-grand-total]")).not_to_have_text("0.00")  # static/budgets/budget_grid.js ran


def _dismiss_a_confirm_dialog(page) -> None:
    page.locator("form[data-confirm] button").first.click()  # the dialog is dismissed: nothing is deleted


@pytest.fixture
def portfolio(transactional_db):
    pm = UserFactory(username="pm.marketing", role="pm", side="marketing", first_name="Olivia", last_name="Bennett")
    cmo = UserFactory(username="cmo", role="executive", side="marketing", first_name="Victoria", last_name="Hale")
    cio = UserFactory(username="cio", role="executive", side="it", first_name="Robert", last_name="Nakamura")
    finance = UserFactory(username="finance", role="finance", side="", first_name="Grace", last_name="Whitfield")
    sponsors = {"marketing_sponsor": cmo, "it_sponsor": cio}
    draft = InitiativeFactory(owner=pm, status="draft", title="Loyalty app relaunch", **sponsors)
    running = InitiativeFactory(
        owner=pm, status="in_progress", title="Checkout revamp", marketing_share_pct=Decimal("62.50"), **sponsors
    )
    submitted = InitiativeFactory(
        owner=pm, status="submitted", title="CRM consolidation", lane="core_stack", **sponsors
    )
    for month in (1, 2, 3):
        BudgetLineFactory(initiative=running, month=dt.date(2026, month, 1), amount=Decimal("10000.00"))
        ExpenseFactory(initiative=running, incurred_on=dt.date(2026, month, 12), amount=Decimal("8125.40"))
    expense = ExpenseFactory(initiative=submitted, incurred_on=dt.date(2026, 3, 3), paid_by="marketing")
    fx_rate = FxRateFactory(currency="EUR", month=dt.date(2026, 3, 1), rate=Decimal("1.08"))
    PeriodLockFactory(month=dt.date(2025, 12, 1), locked_by=finance)
    split_recompute(trigger="command")
    return {"draft": draft, "running": running, "submitted": submitted, "expense": expense, "fx_rate": fx_rate}


def test_no_page_violates_the_content_security_policy(browser, live_server, portfolio, settings):
    draft, running, submitted = portfolio["draft"], portfolio["running"], portfolio["submitted"]
    found: dict[str, list[str]] = {}

    anonymous = Visitor(browser, live_server, None)
    anonymous.visit("/accounts/login/")
    anonymous.page.fill("#id_username", "pm.marketing")
    anonymous.page.fill("#id_password", "wrong")
    anonymous.page.click("button[type=submit]")
    anonymous.page.wait_for_load_state()
    anonymous.note("/accounts/login/ (wrong password)")
    found |= anonymous.found

    pm = Visitor(browser, live_server, "pm.marketing")
    pm.visit("/")
    pm.visit("/initiatives/")
    pm.visit(f"/initiatives/{running.code}/")
    pm.visit(f"/initiatives/{draft.code}/")
    pm.visit(f"/initiatives/{draft.code}/edit/")
    pm.visit("/initiatives/new/", then=_answer_the_lane_questions)
    pm.visit(f"/finance/budgets/{running.code}/FY2026/")
    pm.visit("/finance/", expected_status=403)
    pm.visit("/initiatives/INI-9999/", expected_status=404)
    pm.visit("/api/docs/")
    found |= {f"pm {page}": v for page, v in pm.found.items()}

    finance = Visitor(browser, live_server, "finance")
    for path in (
        "/",
        "/finance/",
        "/finance/budgets/",
        "/finance/expenses/",
        "/finance/expenses/new/",
        f"/finance/expenses/{portfolio['expense'].pk}/edit/",
        f"/finance/expenses/{portfolio['expense'].pk}/delete/",
        "/finance/imports/",
        f"/finance/fx-rates/{portfolio['fx_rate'].pk}/edit/",
        "/finance/locks/",
        "/finance/audit/",
        "/split/runs/",
        "/dashboard/",
        "/reports/",
        "/reports/exports/",
        f"/initiatives/{submitted.code}/",
    ):
        finance.visit(path)
    finance.visit(f"/finance/budgets/{running.code}/FY2026/", then=_type_into_the_budget_grid)
    finance.visit("/finance/fx-rates/", then=_dismiss_a_confirm_dialog)
    found |= {f"finance {page}": v for page, v in finance.found.items()}

    executive = Visitor(browser, live_server, "cmo")
    executive.visit("/dashboard/")
    executive.visit("/dashboard/funding/")
    executive.visit("/initiatives/approvals/")
    executive.visit(f"/initiatives/{submitted.code}/")
    found |= {f"cmo {page}": v for page, v in executive.found.items()}

    # The lockout page (django-axes is off in the test settings; on for this part).
    settings.AXES_ENABLED = True
    locked = Visitor(browser, live_server, None)
    for _ in range(5):
        locked.page.goto(f"{live_server.url}/accounts/login/")
        locked.page.fill("#id_username", "cio")
        locked.page.fill("#id_password", "wrong")
        locked.page.click("button[type=submit]")
        locked.page.wait_for_load_state()
    assert "Too many failed sign-in attempts" in locked.page.content()
    locked.note("lockout page")
    found |= locked.found

    assert found == {}, "Content Security Policy violations:\n" + "\n".join(
        f"{page}:\n  " + "\n  ".join(messages) for page, messages in found.items()
    )
