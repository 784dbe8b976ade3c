"""The claim mapping (portfolio.oidc.account_from_claims) as a table, and its application to the user."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from initiatives.sso import PortfolioOIDCBackend, account_apply
from portfolio.oidc import account_from_claims
from tests.factories import UserFactory

BASE = {"sub": "42", "preferred_username": "jo", "name": "Jo Park", "email": "jo@example.com"}

# claims (added to BASE) → (roles, side)
TABLE = [
    ("pm", {"roles": ["pm"], "side": "marketing"}, {"pm"}, "marketing"),
    ("executive", {"roles": ["executive"], "side": "it"}, {"executive"}, "it"),
    ("finance", {"roles": ["finance"]}, {"finance"}, ""),
    ("admin", {"roles": ["admin"]}, {"admin"}, ""),
    ("several roles", {"roles": ["pm", "admin"], "side": "it"}, {"pm", "admin"}, "it"),
    ("a string of roles", {"roles": "pm, finance"}, {"pm", "finance"}, ""),
    ("case ignored", {"roles": ["Executive"], "side": "IT"}, {"executive"}, "it"),
    ("unknown role ignored", {"roles": ["pm", "superuser", "auditor"]}, {"pm"}, ""),
    ("no role claim", {}, set(), ""),
    ("empty roles", {"roles": []}, set(), ""),
    ("only unknown roles", {"roles": ["auditor"]}, set(), ""),
    ("side missing", {"roles": ["pm"]}, {"pm"}, ""),
    ("side invalid", {"roles": ["pm"], "side": "sales"}, {"pm"}, ""),
    ("two sides", {"roles": ["pm"], "side": ["it", "marketing"]}, {"pm"}, ""),
]


@pytest.mark.parametrize(("case", "claims", "roles", "side"), TABLE, ids=[row[0] for row in TABLE])
def test_claims_give_roles_and_side(case, claims, roles, side):
    account = account_from_claims({**BASE, **claims})
    assert account.roles == frozenset(roles), case
    assert account.side == side, case
    assert (account.username, account.first_name, account.last_name, account.email) == (
        "jo",
        "Jo",
        "Park",
        "jo@example.com",
    )


def test_other_claim_names_are_read_when_configured():
    account = account_from_claims({"sub": "7", "groups": ["finance"], "department": "it"}, "groups", "department")
    assert (account.username, account.roles, account.side) == ("7", frozenset({"finance"}), "it")
    assert account_from_claims({"sub": "7", "roles": ["finance"]}, "groups", "department").roles == frozenset()


def test_given_and_family_names_win_over_name():
    account = account_from_claims({"sub": "1", "name": "X Y", "given_name": "Ana", "family_name": "de la Cruz"})
    assert (account.first_name, account.last_name) == ("Ana", "de la Cruz")


@pytest.mark.django_db
def test_a_sign_in_creates_the_user_and_the_next_one_updates_it(settings):
    settings.OIDC_ROLES_CLAIM, settings.OIDC_SIDE_CLAIM = "roles", "side"
    backend = PortfolioOIDCBackend()
    user = backend.create_user({**BASE, "roles": ["pm", "finance"], "side": "marketing"})
    assert set(user.groups.values_list("name", flat=True)) == {"pm", "finance"}
    assert user.profile.side == "marketing" and not user.has_usable_password()

    # The next sign-in: finance was removed at the provider, the side changed, the e-mail too.
    [same] = backend.filter_users_by_claims(BASE)
    backend.update_user(same, {**BASE, "email": "jo.park@example.com", "roles": ["pm"], "side": "it"})
    user = User.objects.get(pk=user.pk)
    assert list(user.groups.values_list("name", flat=True)) == ["pm"]
    assert user.profile.side == "it" and user.email == "jo.park@example.com"

    # And then no role at all.
    backend.update_user(user, {**BASE})
    user = User.objects.get(pk=user.pk)
    assert not user.groups.exists() and user.profile.side == ""


@pytest.mark.django_db
def test_groups_that_are_not_roles_are_kept():
    user = UserFactory(role="pm")
    user.groups.create(name="newsletter")
    account_apply(user, account_from_claims({"sub": "x", "roles": ["finance"]}))
    assert set(user.groups.values_list("name", flat=True)) == {"finance", "newsletter"}


def test_a_claim_set_without_username_is_refused():
    assert not PortfolioOIDCBackend().verify_claims({"email": "a@example.com", "roles": ["pm"]})
    assert PortfolioOIDCBackend().verify_claims({"sub": "abc"})


@pytest.mark.django_db
@pytest.mark.parametrize(
    "local",
    [
        {"password": "a-local-password-2026"},  # someone signs in to it with a password
        {"is_superuser": True, "is_staff": True},  # Django's own administrator flags
    ],
)
def test_claims_never_take_over_a_local_account(local):
    from django.core.exceptions import PermissionDenied

    password = local.pop("password", None)
    owner = User.objects.create_user("jo", password=password, **local)
    if password is None:
        owner.set_unusable_password()
        owner.save()
    with pytest.raises(PermissionDenied):
        PortfolioOIDCBackend().filter_users_by_claims({**BASE, "roles": ["admin"]})
    owner.refresh_from_db()
    assert not owner.groups.exists() and owner.email == ""


@pytest.mark.django_db
def test_a_sign_in_clears_the_flags_only_the_claims_decide():
    user = User.objects.create_user("jo")  # an earlier SSO sign-in: no usable password
    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    user.refresh_from_db()
    account_apply(user, account_from_claims({**BASE, "roles": ["pm"]}))
    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["pm"]
