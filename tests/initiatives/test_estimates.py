"""The estimate (PRODUCT.md §2 `estimated_cost`): its field rule, required to submit, split by the proposed
share on every approval screen and e-mail beside the plan; finance told when an initiative is approved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from initiatives import estimates, selectors, services
from initiatives.choices import NotificationKind, Status
from initiatives.estimates import EstimateSplit, clean_estimated_cost, estimate_split
from initiatives.models import Initiative, Notification
from initiatives.templatetags.portfolio_ui import amount
from tests.factories import FAST_LANE_ANSWERS, BudgetLineFactory, InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
MISSING = "Enter the estimated cost before submitting: both sponsors decide with it in view."


# --- the rule (pure) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("estimate", "share", "marketing", "it"),
    [
        ("500000.00", "60.00", "300000.00", "200000.00"),  # the issue's example
        ("100.01", "33.33", "33.33", "66.68"),  # 100.01 × 0.3333 = 33.333333 → 33.33; IT the rest
        ("0.03", "50.00", "0.02", "0.01"),  # 0.015: half away from zero, not to even
        ("1250.25", "0.00", "0.00", "1250.25"),
        ("1250.25", "100.00", "1250.25", "0.00"),
    ],
)
def test_the_estimate_splits_by_the_share_half_up_and_the_sides_add_up(estimate, share, marketing, it):
    split = estimate_split(D(estimate), D(share))
    assert split == EstimateSplit(total=D(estimate), marketing_share_pct=D(share), marketing=D(marketing), it=D(it))
    assert split.marketing + split.it == D(estimate)
    assert split.it_share_pct == D(100) - D(share)


def test_no_split_without_an_estimate():
    assert estimate_split(None, D("60")) is None


@pytest.mark.parametrize(
    ("given", "stored", "error"),
    [
        (None, None, None),
        ("", None, None),
        ("500000", D("500000.00"), None),
        (" 1,250.50 ", D("1250.50"), None),
        (D("0"), D("0.00"), None),
        ("-1", None, "The estimated cost cannot be negative."),
        ("12.345", None, "Use at most two decimal places (cents), for example 125000.50."),
        ("lots", None, estimates.NOT_A_NUMBER),
        ("NaN", None, estimates.NOT_A_NUMBER),
        ("1000000000000", None, "That is more than the estimated cost can hold (under 1,000,000,000,000)."),
    ],
)
def test_the_estimate_field_rule(given, stored, error):
    errors: dict[str, str] = {}
    assert clean_estimated_cost(given, errors) == stored
    assert errors == ({"estimated_cost": error} if error else {})


@pytest.mark.parametrize(
    ("value", "shown"),
    [(D("300000.00"), "$300,000"), (D("1250.5"), "$1,250.50"), (D("-20"), "−$20"), (None, "")],
)
def test_amounts_read_as_people_write_them(value, shown):
    assert amount(value) == shown


# --- the services -----------------------------------------------------------------------------------


def test_a_draft_may_leave_the_estimate_out_but_cannot_be_submitted_without_it(pm, filing):
    draft = services.initiative_create(by=pm, **{**filing, "estimated_cost": None})
    assert draft.estimated_cost is None
    with pytest.raises(ValidationError) as refused:
        services.initiative_submit(initiative=draft, by=pm)
    assert refused.value.message_dict == {"estimated_cost": [MISSING]}
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert not draft.transitions.filter(action="submit").exists()
    assert not Notification.objects.exists()


def test_a_rejected_initiative_whose_estimate_was_cleared_cannot_be_resubmitted(
    pm, submitted, executive_marketing, filing
):
    services.initiative_reject(initiative=submitted, by=executive_marketing, reason="Too vague")
    services.initiative_update(initiative=submitted, by=pm, **{**filing, "estimated_cost": None})
    with pytest.raises(ValidationError) as refused:
        services.initiative_submit(initiative=submitted, by=pm)
    assert refused.value.message_dict == {"estimated_cost": [MISSING]}
    services.initiative_update(initiative=submitted, by=pm, **{**filing, "estimated_cost": "420000"})
    assert services.initiative_submit(initiative=submitted, by=pm).status == Status.SUBMITTED
    submitted.refresh_from_db()
    assert submitted.estimated_cost == D("420000.00")


def test_a_negative_estimate_is_refused_next_to_its_field(pm, filing):
    with pytest.raises(ValidationError) as refused:
        services.initiative_create(by=pm, **{**filing, "estimated_cost": D("-1.00")})
    assert refused.value.message_dict == {"estimated_cost": ["The estimated cost cannot be negative."]}
    assert not Initiative.objects.exists()


def test_the_estimate_is_in_the_history(pm, draft, filing):
    services.initiative_update(initiative=draft, by=pm, **{**filing, "estimated_cost": "612500.5"})
    [entry, _created] = selectors.initiative_history(initiative=draft)
    assert entry.changes == [("Estimated cost", "500,000.00", "612,500.50")]


# --- the web: required to submit, the error next to the field -----------------------------------------


def _form_data(executive_marketing, executive_it, **overrides) -> dict:
    return {
        "title": "Loyalty app relaunch",
        "summary": "Grow repeat purchases.",
        "marketing_sponsor": executive_marketing.pk,
        "it_sponsor": executive_it.pk,
        "start_date": "2026-02-01",
        "end_date": "2026-09-30",
        "marketing_share_pct": "60",
        "estimated_cost": "",
        "health": "green",
        "lane": "fast_lane",
        "lane_justification": "",
        "platforms": "",
        **{f"assessment_{key}": value for key, value in FAST_LANE_ANSWERS.items()},
        **overrides,
    }


def _error_next_to_estimate(html: str) -> str:
    start = html.index('id="id_estimated_cost_error"')
    return html[start : html.index("</div>", start)]


def test_submitting_a_draft_without_estimate_on_the_web_shows_the_error_next_to_the_field(client, pm, filing):
    draft = services.initiative_create(by=pm, **{**filing, "estimated_cost": None})
    client.force_login(pm)
    response = client.post(reverse("initiatives:transition", args=[draft.code, "submit"]))
    edit = reverse("initiatives:edit", args=[draft.code])
    assert (response.status_code, response.url) == (302, f"{edit}?intent=submit")
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT

    page = client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert MISSING in _error_next_to_estimate(html)
    assert f"{draft.code} was not submitted: {MISSING}" in html
    assert html.count("invalid-feedback") == 1  # only the estimate: the rest of the saved draft is fine


def test_the_detail_page_says_what_submitting_needs(client, pm, filing):
    draft = services.initiative_create(by=pm, **{**filing, "estimated_cost": None})
    client.force_login(pm)
    html = client.get(reverse("initiatives:detail", args=[draft.code])).content.decode()
    assert 'id="submission-needs"' in html and MISSING in html
    assert f'href="/initiatives/{draft.code}/edit/?intent=submit"' in html


def test_save_and_submit_without_estimate_is_refused_next_to_the_field_and_saves_nothing(
    client, pm, executive_marketing, executive_it
):
    client.force_login(pm)
    response = client.post(
        reverse("initiatives:create"), _form_data(executive_marketing, executive_it, intent="submit")
    )
    assert response.status_code == 400
    assert MISSING in _error_next_to_estimate(response.content.decode())
    assert not Initiative.objects.exists()


def test_save_and_submit_with_an_estimate_files_and_submits(client, pm, executive_marketing, executive_it):
    client.force_login(pm)
    data = _form_data(executive_marketing, executive_it, intent="submit", estimated_cost="500000")
    response = client.post(reverse("initiatives:create"), data)
    initiative = Initiative.objects.get()
    assert (response.status_code, response.url) == (302, reverse("initiatives:detail", args=[initiative.code]))
    assert (initiative.status, initiative.estimated_cost) == (Status.SUBMITTED, D("500000.00"))


def test_a_new_initiative_refused_at_the_submit_step_goes_on_on_its_edit_page_never_a_second_draft(
    client, pm, executive_marketing, executive_it, monkeypatch
):
    # The form's own check passes; the service refuses at the submit step (a rule the form does not know).
    monkeypatch.setattr(services, "initiative_submission_errors", lambda initiative: {"estimated_cost": "Not now."})
    client.force_login(pm)
    data = _form_data(executive_marketing, executive_it, intent="submit", estimated_cost="500000")

    response = client.post(reverse("initiatives:create"), data)

    initiative = Initiative.objects.get()
    edit = reverse("initiatives:edit", args=[initiative.code])
    assert (response.status_code, response.url) == (302, f"{edit}?intent=submit")
    assert (initiative.status, initiative.estimated_cost) == (Status.DRAFT, D("500000.00"))


def test_a_negative_estimate_on_the_form_is_refused_next_to_the_field(client, pm, executive_marketing, executive_it):
    client.force_login(pm)
    response = client.post(
        reverse("initiatives:create"), _form_data(executive_marketing, executive_it, estimated_cost="-5")
    )
    assert response.status_code == 400
    assert "The estimated cost cannot be negative." in _error_next_to_estimate(response.content.decode())


def test_saving_a_draft_keeps_the_estimate_optional(client, pm, executive_marketing, executive_it):
    client.force_login(pm)
    response = client.post(reverse("initiatives:create"), _form_data(executive_marketing, executive_it))
    assert response.status_code == 302
    assert Initiative.objects.get().estimated_cost is None


# --- shown to both sponsors, split by the proposed share, beside the plan ------------------------------

ISSUE_EXAMPLE = (
    'marketing 60 % · $300,000</span> <span class="text-secondary">/</span> '
    '<span class="text-it text-nowrap">IT 40 % · $200,000'
)


def test_the_approvals_list_shows_the_estimate_split_and_the_plan(client, submitted, executive_marketing):
    BudgetLineFactory(initiative=submitted, month=dt.date(2026, 3, 1), amount=D("120000.00"))
    BudgetLineFactory(initiative=submitted, month=dt.date(2026, 4, 1), amount=D("360000.50"))
    client.force_login(executive_marketing)
    html = client.get(reverse("initiatives:approvals")).content.decode()
    assert ISSUE_EXAMPLE in html
    assert '<strong class="estimate-total">$500,000</strong> <span class="text-secondary">· plan</span> ' in html
    assert '<strong class="estimate-plan">$480,000.50</strong>' in html


def test_the_approvals_list_runs_a_fixed_number_of_queries_however_many_wait(
    client, executive_marketing, executive_it, django_assert_max_num_queries
):
    def file(count: int) -> None:
        for _ in range(count):
            initiative = InitiativeFactory(
                status=Status.SUBMITTED, marketing_sponsor=executive_marketing, it_sponsor=executive_it
            )
            BudgetLineFactory(initiative=initiative)

    client.force_login(executive_marketing)
    file(1)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("initiatives:approvals"))
    file(5)
    with django_assert_max_num_queries(len(one)):
        html = client.get(reverse("initiatives:approvals")).content.decode()
    assert html.count('class="estimate-plan"') == 6


def test_the_review_page_and_the_approval_page_show_the_money(client, submitted, executive_it):
    BudgetLineFactory(initiative=submitted, month=dt.date(2026, 3, 1), amount=D("450000.00"))
    client.force_login(executive_it)
    review = client.get(reverse("initiatives:detail", args=[submitted.code])).content.decode()
    approval = review[review.index('class="card-body border-bottom py-2 approval-money"') :]
    assert ISSUE_EXAMPLE in approval[: approval.index("</section>")]
    assert '<strong class="estimate-plan">$450,000</strong>' in approval
    confirm = client.get(reverse("initiatives:transition", args=[submitted.code, "reject"])).content.decode()
    assert ISSUE_EXAMPLE in confirm and '<strong class="estimate-plan">$450,000</strong>' in confirm


def test_a_share_change_is_shown_split_by_the_proposed_share(client, approved, pm, executive_it):
    proposal = services.change_proposal_create(
        initiative=approved, by=pm, reason="Marketing leads now", marketing_share_pct="45"
    )
    client.force_login(executive_it)
    decide = reverse("initiatives:change_decide", args=[approved.code, proposal.pk, "approve"])
    for url in (decide, reverse("initiatives:approvals"), reverse("initiatives:detail", args=[approved.code])):
        html = client.get(url).content.decode()
        assert "Estimate, by the proposed share:" in html
        # 45 % of 500,000 = 225,000; IT 55 % = 275,000
        assert "marketing 45 % · $225,000" in html and "IT 55 % · $275,000" in html, url


def test_the_proposal_form_shows_the_estimate_now(client, approved, pm):
    client.force_login(pm)
    html = client.get(reverse("initiatives:propose", args=[approved.code])).content.decode()
    assert "Estimate now" in html and ISSUE_EXAMPLE in html


# --- e-mails ----------------------------------------------------------------------------------------


def test_the_submission_email_shows_the_estimate_split(pm, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.initiative_submit(initiative=draft, by=pm)
    bodies = {message.to[0]: message.body for message in mail.outbox}
    assert set(bodies) == {"cmo@example.com", "cio@example.com"}
    expected = "Estimated cost: $500,000 — marketing 60 % · $300,000 / IT 40 % · $200,000\n"
    assert all(expected in body for body in bodies.values())
    assert "Plan (budget lines)" not in bodies["cmo@example.com"]  # no plan yet


def test_a_share_change_email_splits_by_the_proposed_share_beside_the_plan(
    pm, approved, django_capture_on_commit_callbacks
):
    BudgetLineFactory(initiative=approved, month=dt.date(2026, 3, 1), amount=D("480000.00"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.change_proposal_create(initiative=approved, by=pm, reason="Rebalance", marketing_share_pct="33.33")
    body = mail.outbox[0].body
    # 500,000 × 0.3333 = 166,650.00; IT the rest
    assert (
        "Estimated cost: $500,000 (split by the proposed share) — "
        "marketing 33.33 % · $166,650 / IT 66.67 % · $333,350\n"
        "Plan (budget lines): $480,000\n"
    ) in body


def test_finance_is_told_when_an_initiative_becomes_approved(
    submitted, executive_marketing, executive_it, finance, django_capture_on_commit_callbacks
):
    UserFactory(username="finance.noaddress", role="finance", side="", email="")
    UserFactory(username="finance.gone", role="finance", side="", is_active=False)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.initiative_approve(initiative=submitted, by=executive_marketing)
    assert not Notification.objects.filter(kind=NotificationKind.BUDGET_NEEDED).exists()  # one sign-off: not yet

    with django_capture_on_commit_callbacks(execute=True):
        services.initiative_approve(initiative=submitted, by=executive_it)
    [notice] = Notification.objects.filter(kind=NotificationKind.BUDGET_NEEDED)
    assert (notice.recipient, notice.to_address, notice.initiative) == (finance, "finance@example.com", submitted)
    [message] = [m for m in mail.outbox if m.to == ["finance@example.com"]]
    assert message.subject == f"[Right-Speed] {submitted.code} {submitted.title}: approved, it needs a budget"
    assert (
        "It now needs a budget.\n\nEstimated cost: $500,000 — marketing 60 % · $300,000 / IT 40 % · $200,000\n\nRuns:"
        in (message.body)
    )
    assert "Estimated cost: $500,000 — marketing 60 % · $300,000 / IT 40 % · $200,000\n" in message.body
    assert "Runs: Feb 1, 2026 – Sep 30, 2026\n" in message.body
    assert f"Open the initiative: {settings.SITE_URL.rstrip('/')}/initiatives/{submitted.code}/\n" in message.body


def test_finance_is_told_once_not_again_when_work_starts(finance, approved, pm, django_capture_on_commit_callbacks):
    assert Notification.objects.filter(kind=NotificationKind.BUDGET_NEEDED).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.initiative_start(initiative=approved, by=pm)
    assert Notification.objects.filter(kind=NotificationKind.BUDGET_NEEDED).count() == 1


# --- the admin: read, never changed there -----------------------------------------------------------


def test_the_admin_shows_the_estimate_read_only(client):
    administrator = UserFactory(username="ada", role="admin", side="")
    client.force_login(administrator)
    initiative = InitiativeFactory(status=Status.SUBMITTED, estimated_cost=D("612500.50"))
    listing = client.get(reverse("admin:initiatives_initiative_changelist")).content.decode()
    assert "Estimated cost" in listing and "612500.50" in listing.replace(",", "")
    change_url = reverse("admin:initiatives_initiative_change", args=[initiative.pk])
    page = client.get(change_url).content.decode()
    assert 'name="estimated_cost"' not in page and "612500.50" in page.replace(",", "")
    assert client.post(change_url, {"estimated_cost": "1"}).status_code == 403
    initiative.refresh_from_db()
    assert initiative.estimated_cost == D("612500.50")
