"""The OpenAPI 3 schema at /api/schema/ and the offline docs at /api/docs/."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api, pm):
    response = api(pm).get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_the_schema_is_openapi_3_and_documents_every_resource(schema):
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    for path in (
        "/api/auth/token/",
        "/api/initiatives/",
        "/api/initiatives/{code}/",
        "/api/initiatives/{code}/approve/",
        "/api/budget-lines/",
        "/api/expenses/",
        "/api/fx-rates/",
        "/api/locks/",
        "/api/locks/{id}/unlock/",
        "/api/split/",
        "/api/split/summary/",
        "/api/recompute/",
        "/api/recompute/{id}/",
    ):
        assert path in paths
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_every_operation_documents_its_errors(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"400", "401", "429"} <= set(responses), (method, path)  # 400: e.g. a NUL in a parameter
            if path != "/api/auth/token/":
                assert "403" in responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if method in ("post", "put", "patch"):
                refused = responses["400"]["content"]["application/json"]["schema"]
                field_messages = {"$ref": "#/components/schemas/ValidationError"}
                if (method, path) == ("post", "/api/expenses/"):  # a list gets a list of field messages
                    assert refused == {"oneOf": [field_messages, {"type": "array", "items": field_messages}]}
                else:
                    assert refused == field_messages, (method, path)
    assert "503" in schema["paths"]["/api/recompute/"]["post"]["responses"]


def test_money_is_a_decimal_string_and_split_fields_are_the_exports(schema):
    from split.arithmetic import SPLIT_COLUMNS

    components = schema["components"]["schemas"]
    amount = components["Expense"]["properties"]["amount_reporting"]
    assert (amount["type"], amount["format"]) == ("string", "decimal")
    assert list(components["SplitRow"]["properties"]) == list(SPLIT_COLUMNS)
    split = schema["paths"]["/api/split/"]["get"]
    assert {"fiscal_year", "quarter", "lane", "status", "initiative", "cursor"} <= {
        p["name"] for p in split["parameters"]
    }
    summary = schema["paths"]["/api/split/summary/"]["get"]
    [group_by] = [p for p in summary["parameters"] if p["name"] == "group_by"]
    assert set(group_by["schema"]["enum"]) >= {"lane", "side", "status", "quarter", "fiscal_year"}
    expense_create = schema["paths"]["/api/expenses/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert expense_create == {"$ref": "#/components/schemas/ExpenseCreateRequest"}
    assert {"type": "array", "items": {"$ref": "#/components/schemas/ExpenseInputRequest"}} in components[
        "ExpenseCreateRequest"
    ]["oneOf"]


def test_the_schema_needs_a_login():
    assert APIClient().get("/api/schema/").status_code == 401


def test_yaml_is_available_too(api, pm):
    response = api(pm).get("/api/schema/", {"format": "yaml"})

    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_the_docs_are_served_without_internet(client, pm):
    client.force_login(pm)

    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    external = [url for url in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if url.startswith(("http", "//"))]
    assert external == []
    local = [url for url in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if url.startswith("/static/")]
    assert len(local) >= 3  # the Swagger UI bundle, its preset and its stylesheet, all shipped with the app
    for url in local:
        assert finders.find(url.removeprefix("/static/").split("?")[0]), url


def test_the_docs_send_anonymous_browsers_to_the_login_page(client):
    response = client.get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
