"""Where agreements and effective months show: the share-change form, the proposal everywhere it appears
("60 % → 50 % from April 2026"), the initiative page's timeline, the API, the e-mails, the admin and the audit log."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from initiatives import agreements, services
from initiatives.models import CoFundingAgreement
from portfolio.fiscal import add_months, month_label
from tests.api.conftest import token_client
from tests.factories import PeriodLockFactory, UserFactory

pytestmark = pytest.mark.django_db

THIS_MONTH = agreements.current_month()


def _month(offset: int) -> dt.date:
    return add_months(THIS_MONTH, offset)


@pytest.fixture
def running(pm, filing, executive_marketing, executive_it):
    filing.update(start_date=_month(-6), end_date=_month(6) + dt.timedelta(days=20))
    initiative = services.initiative_create(by=pm, **filing)
    services.initiative_submit(initiative=initiative, by=pm)
    services.initiative_approve(initiative=initiative, by=executive_marketing)
    return services.initiative_approve(initiative=initiative, by=executive_it)


def _propose(running, pm, month, share="50"):
    return services.change_proposal_create(
        initiative=running, by=pm, reason="Marketing takes the lead", marketing_share_pct=share, effective_from=month
    )


# --- the form ------------------------------------------------------------------------------------


def test_the_form_offers_the_months_of_the_initiative_with_the_first_open_one_chosen(client, pm, running, finance):
    PeriodLockFactory(month=THIS_MONTH, locked_by=finance)
    client.force_login(pm)
    html = client.get(reverse("initiatives:propose", args=[running.code])).content.decode()

    select = re.search(r'<select name="effective_from".*?</select>', html, re.S).group(0)
    values = re.findall(r'<option value="(\d{4}-\d{2})"', select)
    assert values[0] == f"{_month(-6):%Y-%m}" and values[-1] == f"{_month(6):%Y-%m}"  # start month to end month
    assert len(values) == 13
    assert re.search(rf'<option value="{THIS_MONTH:%Y-%m}"[^>]*disabled', select)  # locked: shown, not choosable
    assert f"{month_label(THIS_MONTH)} (locked)" in select
    assert re.search(rf'<option value="{_month(1):%Y-%m}"[^>]*selected', select)  # the first open month


def test_the_form_sends_the_month_and_shows_a_refusal_next_to_the_field(client, pm, running, finance):
    PeriodLockFactory(month=_month(-1), locked_by=finance)
    client.force_login(pm)
    url = reverse("initiatives:propose", args=[running.code])
    data = {"marketing_share_pct": "50", "reason": "Marketing takes the lead"}

    response = client.post(url, {**data, "effective_from": f"{_month(-1):%Y-%m}"}, format="json")
    assert response.status_code == 400
    assert response.context["form"].errors["effective_from"] == [
        f"{month_label(_month(-1))} is locked: choose an open month."
    ]
    assert "is-invalid" in re.search(r'<select name="effective_from"[^>]*>', response.content.decode()).group(0)

    response = client.post(url, {**data, "effective_from": f"{_month(-2):%Y-%m}"})
    assert response.status_code == 302
    assert running.change_proposals.get().effective_from == _month(-2)


# --- the proposal wherever it shows ---------------------------------------------------------------


def test_a_pending_share_change_reads_from_its_month_everywhere(
    client, pm, running, executive_it, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = _propose(running, pm, _month(2))
    expected = f"60.00 % → 50.00 % from {month_label(_month(2))}"
    bodies = [" ".join(message.body.split()) for message in mail.outbox]
    assert bodies and all(f"Marketing's share: {expected}" in body for body in bodies)

    def text(url):
        html = client.get(url).content.decode()
        return " ".join(re.sub(r"<[^>]+>", " ", html).split())

    client.force_login(executive_it)
    flat = re.escape(month_label(_month(2)))
    for url in (
        reverse("initiatives:detail", args=[running.code]),
        reverse("initiatives:approvals"),
        reverse("initiatives:change_decide", args=[running.code, proposal.pk, "approve"]),
    ):
        assert re.search(rf"60\.00 % → 50\.00 % from {flat}", text(url)), url


# --- the initiative page ----------------------------------------------------------------------------


def test_the_initiative_page_shows_the_timeline_with_its_signers(
    client, pm, running, executive_marketing, executive_it
):
    proposal = _propose(running, pm, _month(-2))
    services.change_proposal_approve(proposal=proposal, by=executive_marketing)
    services.change_proposal_approve(proposal=proposal, by=executive_it)
    client.force_login(pm)
    response = client.get(reverse("initiatives:detail", args=[running.code]))

    assert [a.effective_from for a in response.context["agreements"]] == [_month(-6), _month(-2)]
    assert response.context["agreement_in_force"].effective_from == _month(-2)
    html = response.content.decode()
    section = html[html.index('id="h-agreements"') : html.index('id="h-lane"')]
    flat = " ".join(re.sub(r"<[^>]+>", " ", section).split())
    assert f"From {month_label(_month(-6))} Marketing 60.00 % · IT 40.00 %" in flat
    assert f"From {month_label(_month(-2))} in force Marketing 50.00 % · IT 50.00 %" in flat
    assert "From the dual sign-off" in flat
    assert f"From share change #{proposal.pk}" in flat
    assert flat.count(executive_marketing.get_full_name() or executive_marketing.username) == 2


def test_before_dual_sign_off_the_page_says_the_share_is_agreed_then(client, pm, draft):
    client.force_login(pm)
    html = client.get(reverse("initiatives:detail", args=[draft.code])).content.decode()
    assert "No agreement yet: the share is agreed at dual sign-off." in html


# --- the API --------------------------------------------------------------------------------------


def test_the_api_lists_the_timeline_to_whoever_sees_the_initiative(pm, other_pm, running, executive_marketing):
    CoFundingAgreement.objects.create(
        initiative=running,
        effective_from=_month(1),
        marketing_share_pct=Decimal("45.5"),
        marketing_signed_by=executive_marketing,
    )
    response = token_client(pm).get(f"/api/initiatives/{running.code}/agreements/")
    assert response.status_code == 200
    first, second = response.json()
    assert first["effective_from"] == f"{_month(-6):%Y-%m-%d}"
    assert (first["marketing_share_pct"], first["it_share_pct"]) == ("60.00", "40.00")
    assert (first["marketing_signed_by"], first["it_signed_by"]) == ("cmo", "cio")
    assert first["marketing_signed_at"] and first["it_signed_at"] and first["proposal"] is None
    assert (second["marketing_share_pct"], second["it_share_pct"]) == ("45.50", "54.50")
    assert second["it_signed_by"] is None

    draft = services.initiative_create(
        by=other_pm,
        title="Hidden",
        summary="A draft of another PM.",
        marketing_sponsor=running.marketing_sponsor,
        it_sponsor=running.it_sponsor,
        lane="fast_lane",
        start_date=running.start_date,
        end_date=running.end_date,
        marketing_share_pct="50",
        lane_assessment=running.lane_assessment,
    )
    assert token_client(pm).get(f"/api/initiatives/{draft.code}/agreements/").status_code == 404


def test_the_api_takes_and_shows_a_proposals_effective_month(pm, running, finance):
    PeriodLockFactory(month=_month(-1), locked_by=finance)
    client = token_client(pm)
    url = f"/api/initiatives/{running.code}/proposals/"
    response = client.post(
        url, {"reason": "x", "marketing_share_pct": "50", "effective_from": f"{_month(-1):%Y-%m}"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"effective_from": [f"{month_label(_month(-1))} is locked: choose an open month."]}

    response = client.post(
        url, {"reason": "x", "marketing_share_pct": "50", "effective_from": f"{_month(2):%Y-%m}-14"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["effective_from"] == f"{_month(2):%Y-%m-%d}"
    assert response.json()["previous_values"] == {"marketing_share_pct": "60.00"}
    (listed,) = client.get(url).json()
    assert (listed["marketing_share_pct"], listed["effective_from"]) == ("50.00", f"{_month(2):%Y-%m-%d}")

    stranger = UserFactory(username="pm.other", role="pm")
    response = token_client(stranger).post(url, {"reason": "x", "lane": "core_stack"}, format="json")
    assert response.status_code == 403  # sees the initiative, may not propose (owner or sponsor only)


# --- admin and audit log ------------------------------------------------------------------------------


def test_the_admin_reads_agreements_and_never_changes_them(client, running):
    client.force_login(UserFactory(username="ada", role="admin", side=""))
    agreement = running.agreements.get()
    assert client.get(reverse("admin:initiatives_cofundingagreement_changelist")).status_code == 200
    assert client.get(reverse("admin:initiatives_cofundingagreement_change", args=[agreement.pk])).status_code == 200
    assert client.get(reverse("admin:initiatives_cofundingagreement_add")).status_code == 403
    response = client.post(reverse("admin:initiatives_cofundingagreement_delete", args=[agreement.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert running.agreements.exists()


def test_agreement_history_is_readable_in_the_audit_log(
    client, pm, running, finance, executive_marketing, executive_it
):
    proposal = _propose(running, pm, _month(-6), share="70")  # replaces the first agreement
    services.change_proposal_approve(proposal=proposal, by=executive_marketing)
    services.change_proposal_approve(proposal=proposal, by=executive_it)
    client.force_login(finance)
    response = client.get(reverse("budgets:audit_log"), {"model": "agreement", "initiative": running.code})
    assert response.status_code == 200
    entries = response.context["page"].entries
    assert [entry.action for entry in entries] == ["changed", "created"]
    changed = {change.name: (change.before, change.after) for change in entries[0].changes}
    assert changed["marketing_share_pct"] == ("60.00 %", "70.00 %")
    assert changed["proposal"] == ("", f"proposal #{proposal.pk}")
    created = {change.name: change.after for change in entries[1].changes}
    assert created["effective_from"] == month_label(_month(-6))
    assert created["marketing_signed_by"] == (executive_marketing.get_full_name() or "cmo")
    assert entries[0].title == f"{running.code} · from {_month(-6):%b %Y}"
