"""The OpenAPI schema of the REST API: drf-spectacular's AutoSchema plus every operation's errors."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import permissions

from portfolio.api import ERROR_DESCRIPTIONS, VALIDATION_ERROR_SCHEMA, ErrorSerializer, PageNumberPagination


class PortfolioAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error responses every operation can give.

    400 (field messages) everywhere: a body, a query parameter, or a NUL byte in any query
    parameter (refused before the view by `portfolio.nul_guard`);
    401 (a wrong token is refused even where none is needed); 403 unless the view is
    public; 404 where a path parameter names a record or page numbers can run out;
    429 everywhere (throttling); 503 where the view says so (`schema_errors_extra`).
    Actions that accept a list (`schema_list_errors`) may answer a list of field messages.
    """

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code in responses:
                continue
            if code == "400":
                body = self._validation_error_ref()
                if self._action() in getattr(self.view, "schema_list_errors", ()):
                    body = {"oneOf": [body, {"type": "array", "items": body}]}
            else:
                body = self.resolve_serializer(ErrorSerializer, "response").ref
            responses[code] = {
                "content": {"application/json": {"schema": body}},
                "description": ERROR_DESCRIPTIONS[code],
            }
        return dict(sorted(responses.items()))

    def _error_codes(self) -> list[str]:
        checks = self.view.get_permissions()
        public = all(isinstance(permission, permissions.AllowAny) for permission in checks)
        has_path_params = "{" in self.path
        codes = ["429", *getattr(self.view, "schema_errors_extra", {}).get(self._action(), ())]
        if self.view.get_authenticators():
            codes.append("401")  # also on public operations: a wrong token is refused
        if not public:
            codes.append("403")
        codes.append("400")  # a NUL byte in any query parameter is refused, whatever the operation
        if has_path_params or (self._is_list_view() and isinstance(self._get_paginator(), PageNumberPagination)):
            codes.append("404")
        return codes

    def _action(self) -> str:
        return getattr(self.view, "action", None) or self.method.lower()

    def _validation_error_ref(self) -> dict:
        component = ResolvedComponent(
            name="ValidationError",
            type=ResolvedComponent.SCHEMA,
            object="ValidationError",
            schema=VALIDATION_ERROR_SCHEMA,
        )
        self.registry.register_on_missing(component)
        return component.ref
