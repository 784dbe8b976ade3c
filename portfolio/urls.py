from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from portfolio import oidc, password_reset
from portfolio.health import healthz
from portfolio.no_role import no_role

# 503 while the database is out of reach, 500 otherwise; JSON under /api/ (portfolio/errors.py).
handler500 = "portfolio.errors.server_error"

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    # Password reset for local accounts; 404 while OIDC_ONLY is true (portfolio/password_reset.py).
    path("accounts/password-reset/", password_reset.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password-reset/sent/", password_reset.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/password-reset/<uidb64>/<token>/",
        password_reset.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password-reset/done/",
        password_reset.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Sign-in and sign-out, with single sign-on when OIDC_ISSUER is set (portfolio/oidc.py).
    path("accounts/login/", oidc.LoginView.as_view(), name="login"),
    path("accounts/logout/", oidc.LogoutView.as_view(), name="logout"),
    path("oidc/", include(oidc)),
    path("no-role/", no_role, name="no_role"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),  # for load balancers: anonymous, JSON, 200 or 503
    path("api/", include("portfolio.api_urls")),
    # Each app owns its URLs: initiatives/urls.py and budgets/urls.py (app_name set there).
    path("initiatives/", include("initiatives.urls")),
    path("finance/settlements/", include("split.urls_settlements")),  # the true-up settlements (split)
    path("finance/", include("budgets.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("reports/", include("reports.urls")),
    path("scenarios/", include("scenarios.urls")),
    path("outcomes/", include("outcomes.urls")),
    path("split/", include("split.urls")),
]
