"""On a phone (390×844), every page of every role fits the screen: no sideways scrolling of the page
(wide tables scroll inside their card) and its buttons on the screen, not beyond its right edge.

`PAGES` lists every page of the site with the roles that open it; `NOT_PAGES` the URL names that are
no page (downloads, JSON, htmx fragments, POST-only actions). `test_every_named_url_is_a_page_or_said_not_to_be`
reads the urlconf, so a new URL fails loudly until it is added to one or the other.

Playwright for Python drives Debian's Chromium: one browser, one context per role, the live server
reused. Without them the browser test is skipped locally and fails under CI=true. A page that does
not fit leaves its screenshot in test-artifacts/phones/.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from budgets.services.imports import import_upload_store
from initiatives.services import change_proposal_create
from outcomes.services import kpi_create, measurement_record
from outcomes.services import today as local_today
from portfolio.fiscal import month_start
from reports.models import ExportJob
from scenarios.services import scenario_change_set, scenario_create
from split.services import split_recompute
from split.settlements import settlement_create
from tests.budgets.finance_helpers import actuals_csv
from tests.conftest import ARTIFACTS, browser_sign_in
from tests.factories import (
    BudgetLineFactory,
    ExpenseFactory,
    FxRateFactory,
    InitiativeFactory,
    PeriodLockFactory,
    UserFactory,
)
from tests.split.settlement_helpers import close_month

PHONE = {"width": 390, "height": 844}
USERS = {"pm": "pm.marketing", "executive": "cmo", "finance": "finance", "admin": "admin"}
ALL = tuple(USERS)
SEES_EVERYTHING = ("executive", "finance", "admin")


@dataclass(frozen=True)
class Page:
    """A page, the roles that open it, and the buttons that must lie on the screen (besides every button
    outside a scrolling table, which is checked on every page)."""

    url_name: str | None  # the URL pattern it stands for ("namespace:name"); None: an error page
    path: str  # formatted with the dataset's values, e.g. "/initiatives/{running}/"
    roles: tuple[str, ...]
    status: int = 200
    on_screen: tuple[str, ...] = ()  # selectors of buttons that must be on the screen, in a table or not
    links: bool = True  # its links in the text look like links (underlined or in their own colour)


PAGES: list[Page] = [
    Page("login", "/accounts/login/", ("anonymous",)),
    Page("password_reset", "/accounts/password-reset/", ("anonymous",)),
    Page("password_reset_done", "/accounts/password-reset/sent/", ("anonymous",)),
    Page("password_reset_confirm", "/accounts/password-reset/MQ/not-a-token/", ("anonymous",)),  # "not valid"
    Page("password_reset_complete", "/accounts/password-reset/done/", ("anonymous",)),
    Page("home", "/", ALL),
    Page("dashboard:dashboard", "/dashboard/?fiscal_year=2026", SEES_EVERYTHING),
    Page("dashboard:dashboard", "/dashboard/?fiscal_year=2026&quarter=3&lane=fast_lane", SEES_EVERYTHING),
    Page("dashboard:funding", "/dashboard/funding/?fiscal_year=2026", SEES_EVERYTHING),
    Page("initiatives:list", "/initiatives/", ALL),
    Page("initiatives:list", "/initiatives/?platform_risk=1&fiscal_year=2026&quarter=3", ALL),
    Page("initiatives:roadmap", "/initiatives/roadmap/", ALL),
    Page("initiatives:roadmap", "/initiatives/roadmap/?fiscal_year=2026&lane=fast_lane", ALL),
    Page("initiatives:create", "/initiatives/new/", ("pm",), on_screen=("button:has-text('Save draft')",)),
    Page("initiatives:detail", "/initiatives/{running}/", ALL),
    Page("initiatives:detail", "/initiatives/{draft}/", ("pm",)),
    Page("initiatives:detail", "/initiatives/{submitted}/", ("executive",), on_screen=(".btn:has-text('Approve')",)),
    Page("initiatives:edit", "/initiatives/{draft}/edit/", ("pm",)),
    Page("initiatives:approvals", "/initiatives/approvals/", ("executive",), on_screen=(".btn:has-text('Review')",)),
    Page("initiatives:transition", "/initiatives/{draft}/submit/", ("pm",)),
    Page("initiatives:transition", "/initiatives/{submitted}/approve/", ("executive",)),
    Page("initiatives:transition", "/initiatives/{submitted}/reject/", ("executive",)),
    Page("initiatives:propose", "/initiatives/{running}/propose/", ("pm",)),
    Page("initiatives:change_decide", "/initiatives/{running}/changes/{proposal}/approve/", ("executive",)),
    Page("initiatives:change_decide", "/initiatives/{running}/changes/{proposal}/reject/", ("executive",)),
    Page("outcomes:initiative", "/outcomes/initiatives/{running}/", ("pm",), on_screen=(".btn:has-text('Record')",)),
    Page("outcomes:initiative", "/outcomes/initiatives/{running}/", SEES_EVERYTHING),
    Page("outcomes:initiative", "/outcomes/initiatives/{draft}/", ("pm",), on_screen=(".btn:has-text('Add the KPI')",)),
    Page("outcomes:kpi_edit", "/outcomes/kpis/{kpi}/edit/", ("pm",), on_screen=(".btn:has-text('Save the KPI')",)),
    Page("budgets:home", "/finance/", ("finance",)),
    Page("budgets:budget_index", "/finance/budgets/", ("finance",)),
    Page("budgets:budget_grid", "/finance/budgets/{running}/FY2026/", ("pm", "finance")),
    Page("budgets:expense_list", "/finance/expenses/", ("finance",)),
    Page("budgets:expense_create", "/finance/expenses/new/", ("finance",)),
    Page("budgets:expense_update", "/finance/expenses/{expense}/edit/", ("finance",)),
    Page("budgets:expense_delete", "/finance/expenses/{expense}/delete/", ("finance",)),
    Page("budgets:import_upload", "/finance/imports/", ("finance",)),
    Page("budgets:import_preview", "/finance/imports/{import_good}/", ("finance",)),
    Page("budgets:import_preview", "/finance/imports/{import_bad}/", ("finance",), status=400),
    Page("budgets:fx_rate_list", "/finance/fx-rates/", SEES_EVERYTHING),
    Page("budgets:fx_rate_update", "/finance/fx-rates/{fx_rate}/edit/", ("finance",)),
    Page("budgets:lock_list", "/finance/locks/", SEES_EVERYTHING),
    Page("budgets:audit_log", "/finance/audit/", ("finance", "admin")),
    Page("settlements:list", "/finance/settlements/", SEES_EVERYTHING),
    Page("settlements:new", "/finance/settlements/new/", ("finance",)),
    Page("settlements:detail", "/finance/settlements/{settlement}/", SEES_EVERYTHING),
    Page("split:runs", "/split/runs/", SEES_EVERYTHING),
    Page("scenarios:list", "/scenarios/", ("executive", "finance")),
    Page("scenarios:detail", "/scenarios/{scenario}/", ("executive", "finance")),
    Page("scenarios:add", "/scenarios/add/?initiative={running}&initiative={draft}", ("executive", "finance")),
    Page("scenarios:compare", "/scenarios/compare/?fiscal_year=2026&scenarios={scenario}", ("executive", "finance")),
    Page("outcomes:import", "/outcomes/import/", ("pm",)),
    Page("reports:index", "/reports/", ("executive", "finance")),
    Page("reports:exports", "/reports/exports/", ("executive", "finance")),
    Page("reports:export_detail", "/reports/exports/{export_finance}/", ("finance",)),
    Page("reports:export_detail", "/reports/exports/{export_executive}/", ("executive",)),
    Page("api:docs", "/api/docs/", ALL),
    # Django's admin keeps its own look (its headings and column titles are links in the text colour).
    Page("admin:index", "/admin/", ("admin",), links=False),
    Page("admin:auth_user_changelist", "/admin/auth/user/", ("admin",), links=False),
    Page("admin:auth_user_change", "/admin/auth/user/{pm_id}/change/", ("admin",), links=False),
    Page(None, "/finance/", ("pm",), status=403),
    Page(None, "/initiatives/INI-9999/", ALL, status=404),
]

# Named URLs that are no page to look at, and why.
NOT_PAGES = {
    "logout": "POST only",
    "oidc_authentication_init": "redirects to the identity provider",
    "oidc_authentication_callback": "the identity provider's redirect back (redirects on)",
    "no_role": "only a user with no role sees it: checked at 390 px in tests/sso/test_browser_sso.py",
    "healthz": "JSON for load balancers",
    "initiatives:assess": "an htmx fragment of the filing form (checked inside /initiatives/new/)",
    "initiatives:health": "POST only",
    "budgets:budget_jump": "redirects to a budget grid",
    "budgets:import_template": "a CSV download",
    "budgets:import_errors": "a CSV download",
    "budgets:import_cancel": "POST only",
    "budgets:fx_rate_delete": "POST only",
    "budgets:lock_unlock": "POST only",
    "settlements:reverse": "POST only",
    "scenarios:change-add": "POST only",
    "scenarios:change-delete": "POST only",
    "scenarios:propose": "POST only",
    "scenarios:compare-csv": "a download",
    "scenarios:compare-xlsx": "a download",
    "outcomes:kpi_delete": "POST only",
    "outcomes:measurement_record": "POST only",
    "outcomes:measurement_delete": "POST only",
    "split:runs_panel": "an htmx fragment of /split/runs/",
    "split:recompute": "POST only",
    "reports:split_csv": "a download",
    "reports:split_xlsx": "a download",
    "reports:forecast_csv": "a download",
    "reports:forecast_xlsx": "a download",
    "reports:true_up_journal_csv": "a download",
    "reports:outcomes_csv": "a download",
    "reports:outcomes_xlsx": "a download",
    "reports:exports_panel": "an htmx fragment of /reports/exports/",
    "reports:export_create": "POST only",
    "reports:export_panel": "an htmx fragment of an export's page",
    "reports:export_download": "a download",
    "reports:export_retry": "POST only",
}


def _not_a_page(name: str) -> bool:
    # The REST API answers JSON (its docs page is a page); Django's admin pages share the templates of the
    # three checked in PAGES.
    return name in NOT_PAGES or (name.startswith("api:") and name != "api:docs") or name.startswith("admin:")


def _url_names(patterns, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_named_url_is_a_page_or_said_not_to_be():
    names = _url_names(get_resolver().url_patterns)
    checked = {page.url_name for page in PAGES if page.url_name}
    assert sorted(name for name in names if name not in checked and not _not_a_page(name)) == []
    assert sorted((checked | set(NOT_PAGES)) - names) == []  # no stale entry either
    assert {"admin:index", "api:docs", "api:root"} <= names  # the prefixes above still mean something


# Everything wider than the screen that the page itself would scroll to (not inside a scrolling box),
# and the buttons and fields beyond the screen's edges.
MEASURE = """() => {
  const width = window.innerWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\\s+/).join(".") : "")
    + ` "${(el.innerText || el.value || "").trim().slice(0, 30).replace(/\\s+/g, " ")}"`;
  const scrolledInside = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 1 && r.height > 1
    && getComputedStyle(el).visibility !== "hidden" && !el.closest("[aria-hidden=true]"); };
  const off = (el) => { const r = el.getBoundingClientRect(); return r.left < -0.5 || r.right > width + 0.5; };
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    if (shown(el) && el.getBoundingClientRect().right > width + 0.5 && !scrolledInside(el)) wide.push(name(el));
  }
  const controls = [...document.querySelectorAll("main .btn, main button, main input, main select, main textarea")]
    .filter((el) => shown(el) && !scrolledInside(el) && off(el)).map(name);
  return { scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 8), controls };
}"""


OPEN_MENU = """() => {
  const bar = document.querySelector(".app-navbar");
  return Math.max(bar.scrollWidth, ...[...bar.querySelectorAll("*")].map((el) => el.getBoundingClientRect().right));
}"""

# Links in the page's text that look like the text around them: neither underlined nor in another colour.
HIDDEN_LINKS = """() => {
  const plain = (el) => {
    const style = getComputedStyle(el), parent = getComputedStyle(el.parentElement);
    return !style.textDecorationLine.includes("underline") && style.color === parent.color;
  };
  return [...document.querySelectorAll("main a[href]")]
    .filter((a) => !a.matches(".btn, .nav-link, .page-link, .dropdown-item, .card, .badge, .status-pill, .sort-link")
      && !a.closest(".swagger-ui") && a.getBoundingClientRect().width > 1
      && !a.querySelector("div, p, h1, h2, h3, h4, h5, h6, ul, table") && plain(a))
    .map((a) => a.innerText.trim().slice(0, 30)).slice(0, 6);
}"""


def _seed() -> dict:
    """A small portfolio with the long titles, names and codes that real data has."""
    pm = UserFactory(
        username="pm.marketing",
        role="pm",
        side="marketing",
        first_name="Olivia",
        last_name="Bennett-Featherstonehaugh",
        email="olivia.bennett-featherstonehaugh@marketing-operations.right-speed.example.com",
    )
    cmo = UserFactory(username="cmo", role="executive", side="marketing", first_name="Victoria", last_name="Hale")
    cio = UserFactory(username="cio", role="executive", side="it", first_name="Robert", last_name="Nakamura")
    finance = UserFactory(username="finance", role="finance", side="", first_name="Grace", last_name="Whitfield")
    UserFactory(username="admin", role="admin", side="", first_name="Samir", last_name="Patel")
    sponsors = {"owner": pm, "marketing_sponsor": cmo, "it_sponsor": cio}
    draft = InitiativeFactory(status="draft", title="Loyalty app relaunch for the Nordic markets", **sponsors)
    running = InitiativeFactory(
        status="in_progress",
        title="OmnichannelPersonalisationEngine re-platforming (EMEA, LATAM and APAC)",
        marketing_share_pct=Decimal("62.50"),
        estimated_cost=Decimal("12500000.00"),
        **sponsors,
    )
    submitted = [
        InitiativeFactory(status="submitted", lane="core_stack", title=title, **sponsors)
        for title in ("Customer data platform migration and consent management", "CRM consolidation", "Store locator")
    ]
    for index, other in enumerate(submitted[1:]):
        InitiativeFactory(status=("approved", "done")[index], title=other.title + " – wave 2", **sponsors)
    for month in range(1, 13):
        BudgetLineFactory(initiative=running, month=dt.date(2026, month, 1), amount=Decimal("1040000.00"))
    for month in (1, 2, 3):
        ExpenseFactory(
            initiative=running,
            incurred_on=dt.date(2026, month, 12),
            amount=Decimal("998125.40"),
            vendor="Accenture Interactive Deutschland GmbH & Co. KG",
            description="Implementation partner, sprint 14–18, personalisation engine and consent flows",
            external_ref=f"ERP-INV-2026-00000012345678-EMEA-DE-{month}",
        )
    expense = ExpenseFactory(initiative=submitted[0], incurred_on=dt.date(2026, 3, 3), paid_by="marketing")
    fx_rate = FxRateFactory(currency="EUR", month=dt.date(2026, 3, 1), rate=Decimal("1.08"))
    PeriodLockFactory(month=dt.date(2025, 12, 1), locked_by=finance)
    split_recompute(trigger="command")
    close_month(dt.date(2026, 1, 1), by=finance)
    settlement = settlement_create(months=[dt.date(2026, 1, 1)], reference="JE-2026-0131-TRUEUP-EMEA", by=finance)
    proposal = change_proposal_create(
        initiative=running, by=pm, reason="Marketing takes the personalisation roll-out", marketing_share_pct="70"
    )
    kpi = kpi_create(
        initiative=running, by=pm, name="Share of orders with a personalised recommendation (EMEA)",
        unit="% of orders", direction="up", baseline="12.5", target="30", target_date=running.end_date,
        owner_side="marketing",
    )  # fmt: skip
    for days, value in ((60, "13.1"), (30, "15.8"), (0, "18.25")):
        measurement_record(kpi=kpi, by=pm, measured_on=local_today() - dt.timedelta(days=days), value=value)
    scenario = scenario_create(by=cmo, name="Marketing takes 70 % of personalisation from June")
    scenario_change_set(
        scenario=scenario, by=cmo, initiative=running, kind="exclude", from_month=month_start(running.start_date)
    )
    good = actuals_csv({"initiative_code": running.code, "vendor": "Accenture Interactive Deutschland GmbH & Co. KG"})
    bad = actuals_csv({"initiative_code": running.code, "incurred_on": "2026-02-30", "amount": "$12"})
    exports = {
        f"export_{role}": ExportJob.objects.create(
            requested_by=user, format="csv", filters={"fiscal_year": 2026}, status="succeeded", progress=100
        ).pk
        for role, user in (("finance", finance), ("executive", cmo))
    }
    return {
        "pm_id": pm.pk,
        "draft": draft.code,
        "running": running.code,
        "submitted": submitted[0].code,
        "expense": expense.pk,
        "fx_rate": fx_rate.pk,
        "settlement": settlement.pk,
        "scenario": scenario.pk,
        "proposal": proposal.pk,
        "kpi": kpi.pk,
        "import_good": import_upload_store(data=good, kind="actuals", file_name="erp-april.csv", by=finance),
        "import_bad": import_upload_store(data=bad, kind="actuals", file_name="erp-february.csv", by=finance),
        **exports,
    }


def _check(page, url: str, expected: Page) -> str | None:
    response = page.goto(url)  # after the load event: the deferred scripts (charts, widths set by ui.js) have run
    status = response.status if response else None
    if status != expected.status:
        return f"answered {status}, not {expected.status}"
    found = page.evaluate(MEASURE)
    problems = []
    if found["scrollWidth"] > PHONE["width"]:
        problems.append(f"the page is {found['scrollWidth']} px wide: {found['wide']}")
    if found["controls"]:
        problems.append(f"controls beyond the screen: {found['controls']}")
    hidden = page.evaluate(HIDDEN_LINKS) if expected.links else []
    if hidden:
        problems.append(f"links that do not look like links: {hidden}")
    for selector in expected.on_screen:
        boxes = [box for box in (button.bounding_box() for button in page.locator(selector).all()) if box]
        if not boxes or any(box["x"] < 0 or box["x"] + box["width"] > PHONE["width"] + 0.5 for box in boxes):
            problems.append(f"{selector} is not on the screen ({len(boxes)} found)")
    return "; ".join(problems) or None


@pytest.mark.browser
def test_every_page_of_every_role_fits_a_phone(browser, live_server, transactional_db, media):
    values = _seed()
    failures: list[str] = []
    visited = 0
    for role in ("anonymous", *USERS):
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        if role != "anonymous":
            browser_sign_in(page, live_server.url, USERS[role])
            # The navigation folds into the menu button; opened, it still fits the screen.
            page.click(".navbar-toggler")
            page.wait_for_selector("#mainnav.show")
            width = page.evaluate(OPEN_MENU)
            if width > PHONE["width"] + 0.5:
                failures.append(f"{role} the open menu is {width} px wide")
        for expected in (p for p in PAGES if role in p.roles):
            path = expected.path.format(**values)
            problem = _check(page, f"{live_server.url}{path}", expected)
            visited += 1
            if problem:
                failures.append(f"{role} {path}: {problem}")
                ARTIFACTS.joinpath("phones").mkdir(parents=True, exist_ok=True)
                name = f"{role}-{path.strip('/').replace('/', '_') or 'home'}.png"
                page.screenshot(path=str(ARTIFACTS / "phones" / name), full_page=True)
        context.close()
    assert visited == sum(len(p.roles) for p in PAGES)
    assert failures == [], "Pages that do not fit a 390 px phone:\n" + "\n".join(failures)
