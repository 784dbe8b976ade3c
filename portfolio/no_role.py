"""A signed-in user with no role (PRODUCT.md §1) sees "ask your administrator", not an empty app.

Someone whose provider gives them no role of ours is still signed in — the provider vouched for
them — but every page would be empty or refused. The middleware sends them to one plain page:
always when they signed in through the provider, and on the home page for any other account.
Scripts on /api/ are left alone: the API answers with what no role may see.
"""

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.shortcuts import redirect, render
from django.urls import reverse

from portfolio.oidc import oidc_enabled
from portfolio.policy import roles
from portfolio.roles import Role

OIDC_BACKEND = "initiatives.sso.PortfolioOIDCBackend"
# Paths a role-less user still reaches: this page, signing out, the way in and out of single sign-on.
OPEN_PREFIXES = ("/no-role/", "/accounts/", "/oidc/", "/api/", "/healthz")


def no_role(request):
    """The plain page; 403, since there is nothing here this account may do yet."""
    if roles(request.user):
        return redirect("home")
    context = {"oidc_enabled": oidc_enabled(), "oidc_provider_name": settings.OIDC_PROVIDER_NAME}
    return render(request, "registration/no_role.html", context, status=403)


class NoRoleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and self.applies(request) and not roles(user) & set(Role.values):
            return redirect(reverse("no_role"))
        return self.get_response(request)

    @staticmethod
    def applies(request) -> bool:
        path = request.path_info
        if path.startswith(OPEN_PREFIXES) or path.startswith(settings.STATIC_URL):
            return False
        return path == "/" or request.session.get(BACKEND_SESSION_KEY) == OIDC_BACKEND
