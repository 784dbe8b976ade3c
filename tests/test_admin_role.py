"""The `admin` role administers users, roles and settings in the Django admin (PRODUCT.md §1).

Membership of the `admin` group is what opens the admin — no `is_staff` flag to keep in
step — and nobody else gets in. Initiatives are read there, never changed: the workflow
(dual sign-off, change proposals, timeline, notifications) lives in the app's services.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from initiatives.choices import Status
from initiatives.models import CodeSequence, Initiative, InitiativeChangeProposal
from initiatives.services import INITIATIVE_SEQUENCE
from tests.factories import InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def administrator(client):
    user = UserFactory(username="ada", role="admin", side="")
    assert not (user.is_staff or user.is_superuser)
    client.force_login(user)
    return user


def test_a_member_of_the_admin_role_opens_the_admin_and_its_user_pages(client, administrator):
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 200
    assert client.get(reverse("admin:budgets_fxrate_changelist")).status_code == 200


@pytest.mark.parametrize("role", ["pm", "executive", "finance"])
def test_other_roles_get_a_plain_page_not_the_admin_login(client, role):
    client.force_login(UserFactory(role=role))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 403
    assert "not for your role" in response.content.decode()
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403


def test_an_admin_creates_a_user_with_a_role_and_a_side_in_one_form(client, administrator):
    response = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "cio2",
            "password1": "a-long-unusual-passphrase-42",
            "password2": "a-long-unusual-passphrase-42",
            "usable_password": "true",
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "0",
            "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1",
            "profile-0-side": "it",
            "profile-0-title": "Deputy CIO",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="cio2")
    assert (user.profile.side, user.profile.title) == ("it", "Deputy CIO")

    assert "Deputy CIO" in client.get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()


def test_an_admin_gives_a_role_by_choosing_its_group_on_the_user_form(client, administrator):
    user = UserFactory(username="newexec", role="pm", side="it")
    executive = Group.objects.get_or_create(name="executive")[0]
    change_url = reverse("admin:auth_user_change", args=[user.pk])
    form = client.get(change_url).context["adminform"].form
    data = {name: form[name].value() for name in ("username", "first_name", "last_name", "email")}
    data.update(
        {
            "date_joined_0": f"{user.date_joined:%Y-%m-%d}",
            "date_joined_1": f"{user.date_joined:%H:%M:%S}",
            "is_active": "on",
            "groups": [executive.pk],
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "1",
            "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1",
            "profile-0-id": user.profile.pk,
            "profile-0-user": user.pk,
            "profile-0-side": "it",
            "profile-0-title": "",
        }
    )
    response = client.post(change_url, data)

    assert response.status_code == 302
    assert list(user.groups.values_list("name", flat=True)) == ["executive"]
    listing = client.get(reverse("admin:auth_user_changelist"), {"q": "newexec"}).content.decode()
    assert "executive" in listing


def test_initiatives_are_read_in_the_admin_but_never_changed_there(client, administrator):
    initiative = InitiativeFactory(status=Status.APPROVED)
    change_url = reverse("admin:initiatives_initiative_change", args=[initiative.pk])

    page = client.get(change_url)
    assert page.status_code == 200
    assert initiative.code in page.content.decode()
    assert client.get(reverse("admin:initiatives_initiative_history", args=[initiative.pk])).status_code == 200

    response = client.post(change_url, {"status": Status.DONE, "marketing_share_pct": "10"})
    assert response.status_code == 403
    assert client.get(reverse("admin:initiatives_initiative_add")).status_code == 403
    assert (
        client.post(reverse("admin:initiatives_initiative_delete", args=[initiative.pk]), {"post": "yes"}).status_code
        == 403
    )
    initiative.refresh_from_db()
    assert initiative.status == Status.APPROVED
    assert Initiative.objects.filter(pk=initiative.pk).exists()


def test_change_proposals_and_the_code_sequence_are_read_in_the_admin_but_never_changed_there(client, administrator):
    initiative = InitiativeFactory(status=Status.APPROVED)
    proposal = InitiativeChangeProposal.objects.create(
        initiative=initiative, proposed_by=initiative.owner, reason="Budget shifted", lane="core_stack"
    )
    sequence = CodeSequence.objects.get(name=INITIATIVE_SEQUENCE)
    last_value = sequence.last_value

    assert (
        client.get(reverse("admin:initiatives_initiativechangeproposal_change", args=[proposal.pk])).status_code == 200
    )
    delete_proposal = reverse("admin:initiatives_initiativechangeproposal_delete", args=[proposal.pk])
    assert client.post(delete_proposal, {"post": "yes"}).status_code == 403
    change_sequence = reverse("admin:initiatives_codesequence_change", args=[sequence.pk])
    assert client.get(change_sequence).status_code == 200
    assert client.post(change_sequence, {"name": INITIATIVE_SEQUENCE, "last_value": "0"}).status_code == 403

    assert InitiativeChangeProposal.objects.filter(pk=proposal.pk, status=proposal.status).exists()
    sequence.refresh_from_db()
    assert sequence.last_value == last_value


def test_finance_let_into_the_admin_reads_its_records_there_but_not_the_users(client):
    client.force_login(UserFactory(role="finance", side="", is_staff=True))
    assert client.get(reverse("admin:budgets_expense_changelist")).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403


def test_nobody_reads_another_persons_api_token_in_the_admin(client, administrator):
    """A token is its owner's password for scripts: the admin role would otherwise act as finance via the API."""
    from rest_framework.authtoken.models import Token

    Token.objects.create(user=UserFactory(role="finance"))

    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404
    assert "authtoken" not in client.get("/admin/").content.decode()


def test_the_admin_role_finds_the_administration_in_its_menu_and_home_page(client, administrator):
    html = client.get(reverse("home")).content.decode()
    assert html.count(f'href="{reverse("admin:index")}"') == 2  # the user menu and the home page


def test_other_roles_see_no_link_to_the_administration(client):
    client.force_login(UserFactory(role="finance", side=""))
    assert reverse("admin:index") not in client.get(reverse("home")).content.decode()
