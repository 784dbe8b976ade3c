"""The initiative pages: list, filing form, detail, workflow buttons, and the shell around them."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from budgets.models import BudgetLine, Expense
from initiatives import services
from initiatives.choices import Status
from initiatives.models import CoFundingAgreement, Initiative
from initiatives.templatetags.portfolio_ui import calendar_span
from portfolio.fiscal import fiscal_year, fiscal_year_bounds, fiscal_year_label
from split.services import split_recompute
from tests.conftest import assert_assets_served_here
from tests.factories import FAST_LANE_ANSWERS, BudgetLineFactory, ExpenseFactory, InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = reverse("initiatives:list")
CREATE = reverse("initiatives:create")


def _login(client, user):
    client.force_login(user)
    return client


def _form_data(executive_marketing, executive_it, **overrides) -> dict:
    data = {
        "title": "Loyalty app relaunch",
        "summary": "Grow repeat purchases.",
        "marketing_sponsor": executive_marketing.pk,
        "it_sponsor": executive_it.pk,
        "start_date": "2026-02-01",
        "end_date": "2026-09-30",
        "marketing_share_pct": "60",
        "health": "green",
        "lane": "fast_lane",
        "lane_justification": "",
        "platforms": "",
        **{f"assessment_{key}": value for key, value in FAST_LANE_ANSWERS.items()},
    }
    data.update(overrides)
    return data


# --- the shell -----------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_login_and_back_after(client, pm):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={LIST}"
    response = client.post(reverse("login"), {"username": "pm.marketing", "password": "demo-pass-123", "next": LIST})
    assert response.status_code == 302
    assert response.url == LIST


def test_login_page_shows_a_plain_error_for_a_wrong_password(client, pm):
    response = client.post(reverse("login"), {"username": "pm.marketing", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_the_shell_shows_the_users_name_side_and_role_navigation(client, pm, executive_it, finance):
    page = _login(client, pm).get("/").content.decode()
    assert pm.get_full_name() in page and "Product manager · Marketing" in page
    assert "File an initiative" in page and "Approvals" not in page
    page = _login(client, executive_it).get("/").content.decode()
    assert "Executive · IT" in page and "Pending approvals" in page and "File an initiative" not in page
    page = _login(client, finance).get("/").content.decode()
    assert "File an initiative" not in page and "Pending approvals" not in page
    assert "The portfolio at a glance" in page


def test_bootstrap_and_htmx_are_served_by_the_app_not_a_cdn(client, pm):
    page = _login(client, pm).get(CREATE).content.decode()
    assert "/static/bootstrap/css/bootstrap.min.css" in page
    assert "/static/django_htmx/htmx-2" in page
    assert_assets_served_here(page)


def test_friendly_404_for_an_unknown_code(client, pm):
    response = _login(client, pm).get(reverse("initiatives:detail", args=["INI-9999"]))
    assert response.status_code == 404
    assert "couldn't find that page" in response.content.decode()


def test_codes_in_urls_are_case_insensitive(client, pm, approved):
    """`/initiatives/ini-0005/` is INI-0005's page, as the API and the forms read the code (it was a 404)."""
    code = approved.code.lower()
    _login(client, pm)
    detail = client.get(f"/initiatives/{code}/")
    assert detail.status_code == 200 and detail.context["initiative"] == approved
    grid = client.get(f"/finance/budgets/{code}/{fiscal_year_label(fiscal_year(approved.start_date))}/")
    assert grid.status_code == 200 and grid.context["initiative"] == approved
    client.post(f"/initiatives/{code}/health/", {"health": "amber", "reason": "Vendor slipped"})
    approved.refresh_from_db()
    assert approved.health == "amber"


@pytest.mark.parametrize(
    "path", ["/initiatives/INI-%00/", "/initiatives/INI-%00/edit/", "/finance/budgets/%00/FY2026/"]
)
def test_a_code_no_database_can_store_is_a_404_not_a_500(client, finance, path):
    """PostgreSQL refuses a NUL in a query: such a path matched and the lookup failed with a 500."""
    assert _login(client, finance).get(path).status_code == 404


def test_flash_message_after_filing(client, pm, executive_marketing, executive_it):
    response = _login(client, pm).post(CREATE, _form_data(executive_marketing, executive_it), follow=True)
    assert "INI-0001 was saved as a draft" in response.content.decode()


# --- list ---------------------------------------------------------------------------------


def _portfolio(count: int, owner, cmo, cio) -> None:
    for number in range(count):
        InitiativeFactory(
            owner=owner,
            marketing_sponsor=cmo,
            it_sponsor=cio,
            title=f"Portfolio item {number}",
            status=Status.SUBMITTED if number % 2 else Status.APPROVED,
            lane="core_stack" if number % 3 else "fast_lane",
        )


@pytest.mark.parametrize("count", [3, 40])
@pytest.mark.parametrize(("who", "queries"), [("pm", (9, 7)), ("executive_marketing", (11, 9)), ("finance", (9, 7))])
def test_list_runs_a_fixed_number_of_queries_whatever_the_size(
    client, django_assert_num_queries, request, pm, executive_marketing, executive_it, count, who, queries
):
    """Exact counts: the sponsor filter reads its choices; an executive's page also asks for their approvals."""
    _portfolio(count, pm, executive_marketing, executive_it)
    user = request.getfixturevalue(who)
    _login(client, user)
    with django_assert_num_queries(queries[0]):
        response = client.get(LIST, {"q": "item", "lane": "core_stack", "sort": "-title", "sponsor": executive_it.pk})
    assert response.status_code == 200
    with django_assert_num_queries(queries[1]):
        client.get(LIST, {"page": 2, "fiscal_year": "2026", "side": "marketing", "health": "green"})


def test_list_counts_per_status_and_pages(client, pm, executive_marketing, executive_it):
    _portfolio(30, pm, executive_marketing, executive_it)
    response = _login(client, pm).get(LIST, {"status": "submitted"})
    assert response.context["status_counts"]["submitted"] == 15
    assert response.context["status_counts"]["approved"] == 15
    assert response.context["paginator"].count == 15
    assert len(response.context["page"].object_list) == 15
    response = client.get(LIST, {"per_page": 25, "page": 2})
    assert response.context["paginator"].count == 30
    assert len(response.context["page"].object_list) == 5
    assert "Showing <strong>26–30</strong> of <strong>30</strong>" in response.content.decode()


def test_list_search_filters_and_sort(client, pm, other_pm, executive_marketing, executive_it):
    alpha = InitiativeFactory(title="Alpha checkout", owner=pm, status="submitted", lane="fast_lane", health="red")
    beta = InitiativeFactory(title="Beta ERP", owner=other_pm, status="approved", lane="core_stack")
    # A year the "Active in" filter offers (this one, three back, two ahead) that the others (2026) are not in.
    current = fiscal_year(timezone.localdate())
    year = next(y for y in range(current - 3, current + 3) if y != 2026)
    first, _ = fiscal_year_bounds(year)
    InitiativeFactory(
        title="Gamma", owner=other_pm, status="done", start_date=first, end_date=first + dt.timedelta(days=180)
    )
    _login(client, executive_marketing)

    def codes(**params):
        return [i.code for i in client.get(LIST, params).context["page"].object_list]

    assert codes(q="checkout") == [alpha.code]
    assert codes(q=alpha.code) == [alpha.code]
    assert codes(q=other_pm.last_name, sort="code") == [beta.code, "INI-0003"]
    assert codes(lane="core_stack") == [beta.code]
    assert codes(health="red") == [alpha.code]
    # A choice by its value or its label, in any case (as the split filters and the importers read it).
    assert codes(lane="Core stack") == [beta.code]
    assert codes(lane="CORE_STACK") == [beta.code]
    assert codes(status="Submitted") == [alpha.code]
    assert codes(health="RED") == [alpha.code]
    shown = client.get(LIST, {"lane": "core STACK"}).content.decode()
    assert re.search(r'<option value="core_stack"[^>]*selected', shown)  # the select shows what is filtered
    assert codes(side="it", sort="title") == [beta.code, "INI-0003"]
    assert codes(fiscal_year=str(year)) == ["INI-0003"]
    assert codes(fiscal_year=f"FY{year}") == ["INI-0003"]  # the export's spelling too
    assert codes(sponsor=alpha.it_sponsor_id) == [alpha.code]
    assert codes(sort="title") == [alpha.code, beta.code, "INI-0003"]
    assert codes(sort="-title") == ["INI-0003", beta.code, alpha.code]
    assert codes() == ["INI-0003", beta.code, alpha.code]  # newest first by default


def test_list_mine_filters(client, pm, other_pm, executive_marketing, executive_it):
    mine = InitiativeFactory(owner=pm, marketing_sponsor=executive_marketing, status="submitted")
    InitiativeFactory(owner=other_pm, status="submitted")
    _login(client, pm)
    assert [i.code for i in client.get(LIST, {"mine": "owned"}).context["page"].object_list] == [mine.code]
    _login(client, executive_marketing)
    awaiting = client.get(LIST, {"mine": "awaiting"}).context["page"].object_list
    assert [i.code for i in awaiting] == [mine.code]


def test_a_pm_does_not_see_other_pms_drafts_in_the_list_nor_by_url(client, pm, other_pm):
    hidden = InitiativeFactory(owner=other_pm, status="draft", title="Secret draft")
    page = _login(client, pm).get(LIST).content.decode()
    assert "Secret draft" not in page
    assert client.get(reverse("initiatives:detail", args=[hidden.code])).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"page": "abc"},
        {"page": "99999"},
        {"sort": "password"},
        {"sponsor": "x"},
        {"fiscal_year": "FY20x"},
        {"per_page": "-5"},
        {"q": "x" * 5000},
        {"mine": "everything"},
    ],
)
def test_odd_list_parameters_never_fail(client, pm, params):
    InitiativeFactory(owner=pm)
    assert _login(client, pm).get(LIST, params).status_code == 200


# --- filing form --------------------------------------------------------------------------


def test_a_pm_files_an_initiative_through_the_form(client, pm, executive_marketing, executive_it):
    core = InitiativeFactory(lane="core_stack", status="approved")
    data = _form_data(executive_marketing, executive_it, platforms=core.code.lower(), marketing_share_pct="62.5")
    response = _login(client, pm).post(CREATE, data)
    initiative = Initiative.objects.exclude(pk=core.pk).get()
    assert response.status_code == 302
    assert response.url == reverse("initiatives:detail", args=[initiative.code])
    assert initiative.owner == pm
    assert initiative.marketing_share_pct == Decimal("62.50")
    assert list(initiative.platforms.all()) == [core]


def test_only_pms_see_the_filing_form(client, executive_marketing, finance):
    assert _login(client, executive_marketing).get(CREATE).status_code == 403
    assert _login(client, finance).get(CREATE).status_code == 403


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"marketing_share_pct": "abc"}, "marketing_share_pct", "as a number between 0 and 100"),
        ({"marketing_share_pct": "100.001"}, "marketing_share_pct", "between 0 and 100"),
        ({"marketing_share_pct": "62.555"}, "marketing_share_pct", "at most two decimal places"),
        ({"marketing_share_pct": "-1"}, "marketing_share_pct", "between 0 and 100"),
        ({"marketing_share_pct": "1e400"}, "marketing_share_pct", "between 0 and 100"),
        ({"marketing_share_pct": "NaN"}, "marketing_share_pct", "as a number"),
        ({"marketing_share_pct": ""}, "marketing_share_pct", "Enter marketing&#x27;s share"),
        ({"start_date": "2026-09-30", "end_date": "2026-02-01"}, "end_date", "cannot be before the start date"),
        ({"start_date": "31/02/2026"}, "start_date", "Enter a real date"),
        ({"end_date": "99999-01-01"}, "end_date", "Enter a real date"),
        ({"title": ""}, "title", "Give the initiative a title"),
        ({"title": "x" * 100_000}, "title", "under 200 characters"),
        ({"summary": "y" * 100_000}, "summary", "under 5,000 characters"),
        ({"marketing_sponsor": "999999"}, "marketing_sponsor", "Choose one of the marketing executives"),
        ({"marketing_sponsor": "abc"}, "marketing_sponsor", "Choose one of the marketing executives"),
        ({"it_sponsor": ""}, "it_sponsor", "Choose the IT executive"),
        ({"lane": "warp"}, "lane", "Choose the fast lane or the core stack"),
        ({"lane": "core_stack"}, "lane_justification", "explain why"),
        ({"assessment_maturity": ""}, "assessment_maturity", "Answer this question"),
        ({"platforms": "INI-9999"}, "platforms", "No initiative you can see has the code INI-9999"),
        ({"platforms": "hello world"}, "platforms", "is not one"),
        ({"health": "purple"}, "health", "Choose green, amber or red"),
    ],
)
def test_every_bad_input_is_explained_next_to_its_field_and_nothing_is_saved(
    client, pm, executive_marketing, executive_it, overrides, field, message
):
    response = _login(client, pm).post(CREATE, _form_data(executive_marketing, executive_it, **overrides))
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors, form.errors
    page = response.content.decode()
    assert message in page
    assert 'class="invalid-feedback d-block"' in page
    assert not Initiative.objects.exists()


def test_sponsor_from_the_wrong_side_is_refused_next_to_the_field(client, pm, executive_marketing, executive_it):
    data = _form_data(executive_marketing, executive_it, marketing_sponsor=executive_it.pk)
    response = _login(client, pm).post(CREATE, data)
    assert response.status_code == 400
    assert "marketing_sponsor" in response.context["form"].errors
    assert not Initiative.objects.exists()


def test_a_fast_lane_initiative_cannot_build_on_a_fast_lane_platform(client, pm, executive_marketing, executive_it):
    fast = InitiativeFactory(lane="fast_lane", status="approved")
    response = _login(client, pm).post(CREATE, _form_data(executive_marketing, executive_it, platforms=fast.code))
    assert response.status_code == 400
    assert "must be core-stack" in response.content.decode()


def test_an_empty_post_lists_every_missing_field(client, pm):
    response = _login(client, pm).post(CREATE, {})
    assert response.status_code == 400
    errors = response.context["form"].errors
    for field in ("title", "summary", "marketing_sponsor", "it_sponsor", "start_date", "end_date", "lane"):
        assert field in errors


def test_the_lane_recommendation_updates_as_the_pm_answers(client, pm):
    _login(client, pm)
    url = reverse("initiatives:assess")
    partial = client.get(url, {"assessment_customer_facing": "yes"}, headers={"HX-Request": "true"})
    assert "5 questions left" in partial.content.decode()
    answers = {f"assessment_{k}": v for k, v in FAST_LANE_ANSWERS.items()}
    page = client.get(url, {**answers, "lane": "core_stack"}).content.decode()
    assert "Fast lane" in page and "An experiment should be cheap to start" in page
    assert "explain why" in page
    assert "matches the recommendation" in client.get(url, {**answers, "lane": "fast_lane"}).content.decode()


def test_no_warning_until_a_lane_is_chosen_and_the_recommendation_is_preselected(client, pm):
    # Issue 14: all six answers and no lane yet used to warn "you chose the other lane".
    _login(client, pm)
    answers = {f"assessment_{k}": v for k, v in FAST_LANE_ANSWERS.items()}
    partial = client.get(reverse("initiatives:assess"), answers, headers={"HX-Request": "true"})
    page = partial.content.decode()
    assert partial.context["chosen_lane"] == "" and partial.context["lane_preselected"] is True
    assert "alert-warning" not in page and "You chose" not in page
    assert "The recommended lane is selected below" in page
    assert 'data-recommended-lane="fast_lane"' in page  # what the page's script pre-selects
    # Half answered: no recommendation, so nothing to pre-select or warn about.
    partial = client.get(reverse("initiatives:assess"), {"assessment_customer_facing": "yes"})
    assert partial.context["lane_preselected"] is False
    assert "data-recommended-lane" not in partial.content.decode()


def test_a_form_sent_back_without_a_lane_shows_the_recommended_lane_selected(
    client, pm, executive_marketing, executive_it
):
    response = _login(client, pm).post(CREATE, _form_data(executive_marketing, executive_it, lane=""))
    assert response.status_code == 400  # still not saved: the PM has not seen a lane yet
    assert not Initiative.objects.exists()
    page = response.content.decode()
    lane_inputs = dict(re.findall(r'<input type="radio" name="lane" value="(\w+)"([^>]*)>', page))
    assert " checked" in lane_inputs["fast_lane"] and " checked" not in lane_inputs["core_stack"]
    assert 'data-lane-preselected="true"' in page
    assert "the recommended one is selected now" in page
    assert "alert-warning" not in page and "You chose" not in page


def test_the_form_shows_the_recommendation_without_javascript_after_a_submit(
    client, pm, executive_marketing, executive_it
):
    response = _login(client, pm).post(CREATE, _form_data(executive_marketing, executive_it, title=""))
    assert "An experiment should be cheap to start and easy to stop." in response.content.decode()


# --- edit and 403 --------------------------------------------------------------------------------


def test_a_pm_editing_another_pms_initiative_gets_403_and_nothing_changes(
    client, pm, other_pm, executive_marketing, executive_it
):
    theirs = InitiativeFactory(owner=other_pm, status="rejected", title="Theirs")
    url = reverse("initiatives:edit", args=[theirs.code])
    _login(client, pm)
    assert client.get(url).status_code == 403
    response = client.post(url, _form_data(executive_marketing, executive_it, title="Hijacked"))
    assert response.status_code == 403
    assert "You can't do that here" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.title == "Theirs"


def test_a_pm_editing_their_own_initiative_after_submission_gets_403(
    client, pm, submitted, executive_marketing, executive_it
):
    url = reverse("initiatives:edit", args=[submitted.code])
    response = _login(client, pm).post(url, _form_data(executive_marketing, executive_it, title="Changed"))
    assert response.status_code == 403
    submitted.refresh_from_db()
    assert submitted.title == "Loyalty app relaunch"


def test_the_owner_edits_a_draft_through_the_form(client, pm, draft, executive_marketing, executive_it):
    url = reverse("initiatives:edit", args=[draft.code])
    _login(client, pm)
    page = client.get(url).content.decode()
    assert 'value="Loyalty app relaunch"' in page
    response = client.post(url, _form_data(executive_marketing, executive_it, title="Loyalty app 2.0"))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.title == "Loyalty app 2.0"


# --- detail and workflow -------------------------------------------------------------------------


def test_detail_shows_every_field_the_approval_state_and_the_history(client, pm, submitted, executive_marketing):
    services.initiative_approve(initiative=submitted, by=executive_marketing, reason="Good for Q3")
    page = _login(client, pm).get(reverse("initiatives:detail", args=[submitted.code])).content.decode()
    for text in (
        "Loyalty app relaunch",
        "Grow repeat purchases",
        "Fast lane",
        "Submitted",
        "Marketing 60.00 %",
        "IT 40.00 %",
        "Feb 1, 2026",
        "Sep 30, 2026",
        executive_marketing.get_full_name(),
        "✓ Approved",
        "Waiting",
        "Good for Q3",
        "Submitted for approval",
        "Change history",
        "Is it customer-facing?",
    ):
        assert text in page, text


def test_detail_says_how_long_the_initiative_runs_in_calendar_months(client, pm):
    # Issue 14: a twelve-month initiative read "11 months, 4 weeks" (timesince counts 30-day months).
    initiative = InitiativeFactory(owner=pm, start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31))
    page = _login(client, pm).get(reverse("initiatives:detail", args=[initiative.code])).content.decode()
    assert 'Jan 1, 2026 – Dec 31, 2026 <span class="text-secondary small">(1 year)</span>' in page
    assert "weeks" not in page


@pytest.mark.parametrize(
    "start, end, text",
    [
        ((2026, 1, 1), (2026, 12, 31), "1 year"),
        ((2026, 2, 1), (2026, 9, 30), "8 months"),
        ((2026, 7, 1), (2027, 12, 31), "1 year, 6 months"),
        ((2026, 1, 1), (2028, 12, 31), "3 years"),
        ((2026, 3, 10), (2026, 6, 24), "3 months, 15 days"),
        ((2026, 1, 15), (2027, 3, 20), "1 year, 2 months"),  # two units at most
        ((2026, 4, 1), (2026, 4, 1), "1 day"),
        ((2026, 4, 1), (2026, 4, 14), "14 days"),
        ((2026, 1, 31), (2026, 2, 28), "1 month, 1 day"),
        ((2026, 5, 1), (2026, 4, 1), ""),
    ],
)
def test_calendar_span_counts_both_days_in_calendar_units(start, end, text):
    assert calendar_span(dt.date(*start), dt.date(*end)) == text


def test_detail_actions_follow_the_policy(client, pm, submitted, executive_marketing, other_pm):
    url = reverse("initiatives:detail", args=[submitted.code])
    page = _login(client, executive_marketing).get(url).content.decode()
    assert "Approve</button>" in page and "Reject…" in page and ">Edit<" not in page
    page = _login(client, other_pm).get(url).content.decode()
    assert "Approve</button>" not in page and "Reject…" not in page
    page = _login(client, pm).get(url).content.decode()
    assert "Approve</button>" not in page and ">Edit<" not in page


def test_budget_and_actuals_show_only_to_who_may_see_finances(client, pm, other_pm, approved, executive_it):
    BudgetLineFactory(initiative=approved, amount=Decimal("1000.00"))
    BudgetLineFactory(initiative=approved, amount=Decimal("250.50"), category="software")
    ExpenseFactory(initiative=approved, amount_reporting=Decimal("300.00"), amount=Decimal("300.00"), paid_by="it")
    ExpenseFactory(
        initiative=approved, amount_reporting=Decimal("100.25"), amount=Decimal("100.25"), paid_by="marketing"
    )
    split_recompute(trigger="command")  # the card reads the split rows, as of the last recompute
    url = reverse("initiatives:detail", args=[approved.code])
    for user in (pm, executive_it):
        response = _login(client, user).get(url)
        finance = response.context["finance"]
        assert (finance.planned_total, finance.actual_total) == (Decimal("1250.50"), Decimal("400.25"))
        assert (finance.paid_marketing, finance.paid_it) == (Decimal("100.25"), Decimal("300.00"))
        assert "1,250.50" in response.content.decode()
        # the budget and spend history card, with a link to this fiscal year's grid
        assert "Budget and spend history" in response.content.decode()
        assert f"/finance/budgets/{approved.code}/FY" in response.content.decode()
    response = _login(client, other_pm).get(url)
    assert "Budget and actuals" not in response.content.decode()
    assert "Budget and spend history" not in response.content.decode()
    assert BudgetLine.objects.count() == 2 and Expense.objects.count() == 2  # read-only


def test_the_budget_card_states_marketings_share_of_actual_across_agreements(client, pm, approved):
    """Whole-life figures span every agreement: the card gives marketing's share of what was spent."""
    start = approved.start_date.replace(day=1)
    later = (start + dt.timedelta(days=62)).replace(day=1)
    CoFundingAgreement.objects.update_or_create(
        initiative=approved, effective_from=start, defaults={"marketing_share_pct": Decimal("60")}
    )
    CoFundingAgreement.objects.create(initiative=approved, effective_from=later, marketing_share_pct=Decimal("50"))
    for day, amount in ((start, "100.00"), (later, "300.00")):
        ExpenseFactory(initiative=approved, incurred_on=day, amount=Decimal(amount), amount_reporting=Decimal(amount))
    split_recompute(trigger="command")
    page = _login(client, pm).get(reverse("initiatives:detail", args=[approved.code])).content.decode()
    # 60 % of 100 + 50 % of 300 = 210 of 400 spent: 52.50 %.
    assert "210.00" in page and "(52.50 % of actual)" in page


# One more than the panels before agreements: the co-funding timeline (agreements, their signers and proposal);
# one more for the plan beside the estimate (issue 17); one more for the Outcomes card's KPIs (issue 20: a second
# one reads their measurements when there are KPIs).
@pytest.mark.parametrize(("who", "queries"), [("pm", 21), ("executive_it", 23), ("finance", 21)])
def test_detail_runs_a_fixed_number_of_queries_whatever_its_history(
    client, request, pm, approved, django_assert_num_queries, who, queries
):
    """Every panel filled (health updates, budget lines, expenses, their history): one query per panel, not per row."""

    def more_history(months: range) -> None:
        for month in months:
            services.initiative_update_health(
                initiative=approved, by=pm, health=["green", "amber"][month % 2], reason="weekly"
            )
            BudgetLineFactory(initiative=approved, month=dt.date(2026, month, 1))
            ExpenseFactory(initiative=approved, incurred_on=dt.date(2026, month, 5))

    url = reverse("initiatives:detail", args=[approved.code])
    _login(client, request.getfixturevalue(who))
    more_history(range(1, 2))
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200
    more_history(range(2, 8))
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200


def test_the_web_workflow_from_submit_to_done(
    client, pm, draft, executive_marketing, executive_it, mailoutbox, django_capture_on_commit_callbacks
):
    def post(user, action, **data):
        _login(client, user)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("initiatives:transition", args=[draft.code, action]), data)

    def status():
        draft.refresh_from_db()
        return draft.status

    assert post(pm, "submit").status_code == 302 and status() == Status.SUBMITTED
    assert len(mailoutbox) == 2
    assert post(executive_marketing, "approve").status_code == 302 and status() == Status.SUBMITTED
    assert post(executive_marketing, "approve").status_code == 403  # once
    assert post(executive_it, "approve").status_code == 302 and status() == Status.APPROVED
    assert post(pm, "start").status_code == 302 and status() == Status.IN_PROGRESS
    assert post(executive_it, "complete").status_code == 302 and status() == Status.DONE
    assert post(executive_it, "cancel", reason="x").status_code == 403


def test_a_rejection_needs_a_reason_on_the_confirmation_page(client, submitted, executive_it):
    url = reverse("initiatives:transition", args=[submitted.code, "reject"])
    _login(client, executive_it)
    assert "Why are you rejecting it?" in client.get(url).content.decode()
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    assert "Give a reason" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED
    client.post(url, {"reason": "Needs a business case"})
    submitted.refresh_from_db()
    assert submitted.status == Status.REJECTED


def test_an_unknown_action_is_refused(client, pm, draft):
    response = _login(client, pm).post(reverse("initiatives:transition", args=[draft.code, "teleport"]))
    assert response.status_code == 403


def test_a_change_proposal_through_the_web(client, pm, approved, executive_marketing, executive_it):
    url = reverse("initiatives:propose", args=[approved.code])
    _login(client, pm)
    bad = client.post(url, {"marketing_share_pct": "abc", "reason": ""})
    assert bad.status_code == 400
    assert "as a number" in bad.content.decode() and "both sponsors will read it" in bad.content.decode()
    assert client.post(url, {"marketing_share_pct": "30", "reason": "IT runs it now"}).status_code == 302
    proposal = approved.change_proposals.get()
    detail = client.get(reverse("initiatives:detail", args=[approved.code])).content.decode()
    assert "A change waits for both sponsors" in detail
    for sponsor in (executive_marketing, executive_it):
        _login(client, sponsor)
        client.post(reverse("initiatives:change_decide", args=[approved.code, proposal.pk, "approve"]))
    approved.refresh_from_db()
    assert approved.marketing_share_pct == Decimal("30.00")


def test_approvals_page_lists_what_waits_for_the_executive(client, submitted, executive_it, pm):
    page = _login(client, executive_it).get(reverse("initiatives:approvals")).content.decode()
    assert submitted.code in page and "Initiatives to approve" in page
    page = _login(client, pm).get(reverse("initiatives:approvals")).content.decode()
    assert "Only sponsors approve" in page


def test_home_for_a_pm_links_to_filing_and_their_initiatives(client, pm, draft):
    page = _login(client, pm).get("/").content.decode()
    assert reverse("initiatives:create") in page
    assert draft.code in page


def test_health_update_form(client, pm, approved):
    url = reverse("initiatives:health", args=[approved.code])
    response = _login(client, pm).post(url, {"health": "amber", "reason": ""}, follow=True)
    assert "Give a reason" in response.content.decode()
    client.post(url, {"health": "amber", "reason": "Vendor slipped"})
    approved.refresh_from_db()
    assert approved.health == "amber"


def test_other_users_initiative_count_for_finance_sees_all(client, finance):
    UserFactory(username="someone", role="pm")
    InitiativeFactory(status="draft")
    assert _login(client, finance).get(LIST).context["paginator"].count == 1


def test_all_problems_show_at_once_each_once(client, pm, executive_marketing, executive_it):
    data = _form_data(
        executive_marketing,
        executive_it,
        title="",
        start_date="2026-09-30",
        end_date="2026-02-01",
        marketing_share_pct="100.001",
        marketing_sponsor=executive_it.pk,
    )
    response = _login(client, pm).post(CREATE, data)
    errors = response.context["form"].errors
    assert set(errors) >= {"title", "end_date", "marketing_share_pct", "marketing_sponsor"}
    assert errors["marketing_share_pct"] == ["Marketing's share must be between 0 and 100."]
    assert errors["end_date"] == ["The end date cannot be before the start date."]


def test_the_500_page_renders_without_a_request_or_database():
    from django.template.loader import render_to_string

    page = render_to_string("500.html")
    assert "Something went wrong on our side" in page
    assert "/static/bootstrap/css/bootstrap.min.css" in page


@pytest.mark.parametrize(
    "years_from_now, grid_year_offset",
    [((0, 0), 0), ((1, 2), 1), ((-3, -2), -2), ((-1, 1), 0)],
    ids=["this year", "future", "past", "spanning"],
)
def test_the_budget_grid_offered_is_a_year_the_initiative_runs(client, pm, years_from_now, grid_year_offset):
    today = timezone.localdate()
    this_year = fiscal_year(today)
    start, _ = fiscal_year_bounds(this_year + years_from_now[0])
    _, end = fiscal_year_bounds(this_year + years_from_now[1])
    initiative = InitiativeFactory(owner=pm, start_date=start, end_date=end)
    response = _login(client, pm).get(reverse("initiatives:detail", args=[initiative.code]))
    assert response.context["budget_grid_year"] == f"FY{this_year + grid_year_offset}"


def test_the_lead_counts_what_the_status_tab_shows(client, pm):
    for status in ("in_progress", "in_progress", "done"):
        InitiativeFactory(owner=pm, status=status, lane="fast_lane")
    InitiativeFactory(owner=pm, status="in_progress", lane="core_stack")
    _login(client, pm)

    page = client.get(LIST, {"lane": "fast_lane", "status": "in_progress"}).content.decode()
    assert "2 of 3 initiatives matching your filters are in progress." in page
    page = client.get(LIST, {"status": "done"}).content.decode()
    assert "1 of 4 initiatives is done." in page
    page = client.get(LIST, {"lane": "fast_lane"}).content.decode()
    assert "3 initiatives marketing and IT run together, matching your filters." in page
