"""`/api/`: the REST API's root, token endpoint, OpenAPI schema and docs, and the two apps' routes.

The schema and the docs need a login like every other page (PRODUCT.md §1:
anonymous users see only the login page): `/api/schema/` answers 401 without a
token or session, `/api/docs/` sends a browser to the login page. The docs page
(Swagger UI) is served from the `drf_spectacular_sidecar` static files, never a CDN,
with its start-up script as a file of its own (`?script`): the Content-Security-Policy
allows no inline script.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required, login_required
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, include, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from portfolio.api import LoginThrottle
from portfolio.oidc import local_passwords_enabled

app_name = "api"

ENDPOINTS = {
    "initiatives": "api:initiative-list",
    "budget-lines": "api:budget-line-list",
    "expenses": "api:expense-list",
    "fx-rates": "api:fx-rate-list",
    "locks": "api:lock-list",
    "split": "api:split-list",
    "split-summary": "api:split-summary",
    "recompute": "api:recompute-list",
    "settlements": "api:settlement-list",
    "scenarios": "api:scenario-list",
    "outcomes": "api:outcome-list",
    "schema": "api:schema",
    "docs": "api:docs",
}


@extend_schema_view(post=extend_schema(summary="Get an API token", tags=["auth"]))
class TokenObtainView(ObtainAuthToken):
    """POST a username and password, get the token to send as `Authorization: Token <key>`.

    Not while OIDC_ONLY turns local passwords off: tokens given by an administrator keep working."""

    throttle_classes = [LoginThrottle]

    def post(self, request, *args, **kwargs):
        if not local_passwords_enabled():
            raise exceptions.PermissionDenied(
                "Local passwords are turned off (single sign-on only): ask an administrator for an API token."
            )
        return super().post(request, *args, **kwargs)


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema, as JSON (`application/json`) by default; `?format=yaml` for YAML."""

    renderer_classes = [OpenApiJsonRenderer2, OpenApiJsonRenderer, OpenApiYamlRenderer, OpenApiYamlRenderer2]

    @extend_schema(exclude=True)  # the schema does not describe itself (SERVE_INCLUDE_SCHEMA)
    def get(self, request, *args, **kwargs):
        # Generation warnings are for developers (`manage.py spectacular --validate`), not every request's log.
        with GENERATOR_STATS.silence():
            return super().get(request, *args, **kwargs)


class APIRootView(APIView):
    """Links to every resource of the API."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="The API's resources",
        responses=inline_serializer(
            "APIRoot", {name: serializers.URLField() for name in ENDPOINTS}, help_text="A link per resource."
        ),
        tags=["api"],
    )
    def get(self, request, format=None) -> Response:
        return Response({name: reverse(view, request=request, format=format) for name, view in ENDPOINTS.items()})


@csrf_exempt
@login_not_required
def not_found(request, path: str = "") -> HttpResponse:
    """Any other path under /api/: a JSON 404 like every API error (not the site's HTML page).

    A known path without its trailing slash is redirected (308 keeps the method and body),
    as APPEND_SLASH would do if this catch-all did not match first.
    """
    if not request.path.endswith("/"):
        try:
            match = resolve(f"{request.path}/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            redirect = HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
            redirect.status_code = 308
            return redirect
    return JsonResponse({"detail": "Not found."}, status=404)


urlpatterns = [
    path("", APIRootView.as_view(), name="root"),
    path("auth/token/", TokenObtainView.as_view(), name="token"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
    path("", include("initiatives.api.urls")),
    path("", include("budgets.api.urls")),
    path("", include("split.api.urls")),
    path("", include("scenarios.api.urls")),
    path("", include("outcomes.api.urls")),
    re_path(r"^(?P<path>.*)$", not_found),
]
