"""The OpenID Connect backend: each sign-in creates or updates the user from the provider's claims.

The claims' meaning is `portfolio.oidc.account_from_claims`; this applies it to the user, their
role groups and their profile's side. A role the claims no longer give is taken away, so the
provider stays the one place where roles are managed for people who sign in through it.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from initiatives.models import Profile
from portfolio.oidc import Account, account_from_claims, oidc_enabled, oidc_setting
from portfolio.roles import Role

logger = logging.getLogger(__name__)


def account_apply(user, account: Account) -> None:
    """Make `user`'s name, e-mail, role groups and side those of `account` (roles it lacks are removed).

    The claims alone decide: Django's staff and superuser flags, which would grant the admin role outside
    them, are cleared."""
    user.first_name, user.last_name, user.email = account.first_name, account.last_name, account.email
    user.is_staff = user.is_superuser = False
    user.save(update_fields=["first_name", "last_name", "email", "is_staff", "is_superuser"])
    current = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    if removed := current - account.roles:
        user.groups.remove(*Group.objects.filter(name__in=removed))
    for name in sorted(account.roles - current):
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    Profile.objects.update_or_create(user=user, defaults={"side": account.side})


def local_account(user) -> bool:
    """An account someone signs in to with a password (or an administrator made staff): not SSO's to take."""
    return user.has_usable_password() or user.is_staff or user.is_superuser


class PortfolioOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, endpoints from discovery, users matched by username."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # Django builds a backend for every request of a signed-in user (get_user): no discovery
        # here; the endpoints are read when a sign-in needs them (properties below).
        self.OIDC_RP_SIGN_ALGO = oidc_setting("OIDC_RP_SIGN_ALGO", "RS256")
        self.OIDC_RP_IDP_SIGN_KEY = oidc_setting("OIDC_RP_IDP_SIGN_KEY", None)
        self.UserModel = get_user_model()

    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_TOKEN_ENDPOINT"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_USER_ENDPOINT"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_JWKS_ENDPOINT"))
    OIDC_RP_CLIENT_ID = property(lambda self: oidc_setting("OIDC_RP_CLIENT_ID"))
    OIDC_RP_CLIENT_SECRET = property(lambda self: oidc_setting("OIDC_RP_CLIENT_SECRET"))

    def authenticate(self, request, **kwargs):
        if not oidc_enabled():
            return None
        return super().authenticate(request, **kwargs)

    def account(self, claims) -> Account:
        return account_from_claims(claims, settings.OIDC_ROLES_CLAIM, settings.OIDC_SIDE_CLAIM)

    def verify_claims(self, claims) -> bool:
        return bool(self.account(claims).username)

    def filter_users_by_claims(self, claims):
        """The account of an earlier SSO sign-in with this username. A local account — one with a usable
        password, or a staff or superuser one — is never taken over by claims: that sign-in is refused
        and an administrator renames one of the two."""
        users = self.UserModel.objects.filter(username=self.account(claims).username)
        for user in users:
            if local_account(user):
                # PermissionDenied ends Django's authenticate() with None: the sign-in fails, nobody is let in.
                logger.warning("oidc: sign-in refused, %r is a local account", user.username)
                raise PermissionDenied("This username belongs to a local account.")
        return users

    @transaction.atomic
    def create_user(self, claims):
        account = self.account(claims)
        user = self.UserModel.objects.create_user(username=account.username)  # no usable password
        account_apply(user, account)
        return user

    @transaction.atomic
    def update_user(self, user, claims):
        account_apply(user, self.account(claims))
        return user
