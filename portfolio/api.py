"""What every endpoint of the REST API shares (PRODUCT.md §4 "REST API").

- `PolicyPermission`: each view maps its actions to `portfolio.policy` action
  names; the API decides nothing on its own. Records a user may not see are
  filtered out of the querysets (so they answer 404, never 403).
- `api_exception_handler`: a service's Django `ValidationError` becomes a 400 with
  field messages, exactly like a serializer's; every error is JSON.
- Pagination: page numbers for the small lists, `KeysetPagination` (a cursor on a
  unique sort key) for the big ones, expenses and the split. A page number or size
  that is not one is a 400 on that parameter (`portfolio.pagination` reads them).
- `FilterBackend`: django-filter's, with its 400 built from the form's messages.
- `JSONParser`: numbers read exactly (Decimal, never float), so a money or percentage
  field refuses `100.0000000000000000001` instead of storing 100.00.
- Throttles whose rates are read from settings at request time, so they can be
  tuned per environment (`API_THROTTLE_*`) and raised in tests.
- `portfolio.api_schema.PortfolioAutoSchema` documents the error responses of every
  operation (a module of its own: this one is imported while DRF's APIView class is
  being created, for the throttles, so it must not import views or drf-spectacular's
  schema generator).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, pagination, parsers, permissions, serializers, throttling
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils import json as strict_json
from rest_framework.utils.urls import replace_query_param

from portfolio import policy
from portfolio.pagination import parse_page_number, parse_page_size
from portfolio.text import choice_value

# --- errors -----------------------------------------------------------------------------


def service_error_detail(error: DjangoValidationError) -> dict[str, Any]:
    """A service's ValidationError as DRF error detail: {field: [messages]}, `non_field_errors` for the rest."""
    detail = serializers.as_serializer_error(error)
    if "__all__" in detail:
        detail.setdefault(api_settings.NON_FIELD_ERRORS_KEY, []).extend(detail.pop("__all__"))
    return detail


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus: a Django ValidationError raised by a service is a 400 with field messages."""
    from rest_framework.views import exception_handler  # not at import: rest_framework.views imports this module

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=service_error_detail(exc))
    return exception_handler(exc, context)


def _integer(text: str) -> int | Decimal:
    """A JSON integer; past Python's digit limit for int() (a guard against slow conversions) a Decimal,
    so the field that receives it refuses it by name ("no more than 14 digits") rather than the whole body."""
    limit = sys.get_int_max_str_digits()
    return Decimal(text) if limit and len(text.lstrip("-")) > limit else int(text)


class JSONParser(parsers.JSONParser):
    """JSON bodies with every number read exactly: a fraction or an exponent as a Decimal, never a float.

    DRF's parser reads `100.0000000000000000001` as the float 100.0, which a two-place
    DecimalField then accepts and stores as 100.00; `1e-400` becomes 0.0. As a Decimal the
    field sees the exact value and refuses its places or its size, as it refuses the same
    value sent as a string. NaN and Infinity are not JSON: the body is refused (400).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            text = codecs.getreader(parsers.get_encoding(parser_context or {}))(stream)
            return strict_json.load(text, parse_float=Decimal, parse_int=_integer)
        except ValueError as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from error


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, answering invalid filters with the form's own messages (a 400 per parameter).

    django-filter formats each message as `message % params`, even a message without
    params: one quoting the value (`“100%” is not a fiscal year`) raised TypeError, a 500.
    The form's `get_json_data()` formats as Django does, only with params.
    """

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise exceptions.ValidationError(
                {
                    name: [exceptions.ErrorDetail(error["message"], code=error["code"]) for error in errors]
                    for name, errors in filterset.errors.get_json_data().items()
                }
            )
        return filterset.qs


class ErrorSerializer(serializers.Serializer):
    """The body of every error that is not about the request's fields (401, 403, 404, 405, 429, 503)."""

    detail = serializers.CharField(help_text="What went wrong, in plain words.")


VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "The request was refused: each key names a field (or a query parameter) and holds the "
        "messages about it; `non_field_errors` holds messages about the request as a whole "
        "(for example a locked month). A body that is not valid JSON gets a `detail` message."
    ),
    "properties": {
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
        "detail": {"type": "string"},
    },
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": True},
        ]
    },
    "example": {"end_date": ["The end date cannot be before the start date."]},
}

ERROR_DESCRIPTIONS = {
    "400": "Invalid request: field messages.",
    "401": "Not authenticated: send `Authorization: Token <key>` (from /api/auth/token/) or log in.",
    "403": "Authenticated, but the permission policy does not allow this.",
    "404": "Not found, or not visible to you.",
    "429": "Too many requests: wait and retry (see the `Retry-After` header).",
    "503": "A service this operation needs (the task queue) is unavailable: try again later.",
}


# --- fields -----------------------------------------------------------------------------------


class ValueOrLabelChoiceField(serializers.ChoiceField):
    """A choice sent as its value or as its label, in any case (`IT`, `Software`, `Fast lane`): the one
    spelling rule of `portfolio.text`, as in the importers. Stored and answered as its value."""

    def to_internal_value(self, data):
        if isinstance(data, str) and (value := choice_value(self.choices.items(), data)) is not None:
            return value
        return super().to_internal_value(data)


# --- permissions ----------------------------------------------------------------------------


class PolicyPermission(permissions.BasePermission):
    """Ask `portfolio.policy` whether the user may perform the view's action.

    A view declares `policy_actions`: {DRF action name: policy action name or None}.
    None means "any authenticated user; the scoped queryset decides what they see".
    Actions that apply to an object (`policy.applies_to`: the initiative rules) are
    checked against the object the view looked up; the others are global.
    An action the view does not map is refused (fail closed).
    """

    message = _("You do not have permission to perform this action.")

    @staticmethod
    def _policy_action(view) -> str | None:
        actions: dict[str, str | None] = getattr(view, "policy_actions", {})
        if view.request.method == "OPTIONS":
            return None  # metadata: DRF asks again for each method it describes
        action = getattr(view, "action", None) or view.request.method.lower()
        if action not in actions:
            raise exceptions.MethodNotAllowed(view.request.method)
        return actions[action]

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        action = self._policy_action(view)
        if action is None or policy.applies_to(action):
            return True  # visibility by queryset; rules about an object need the object
        return policy.can(request.user, action)

    def has_object_permission(self, request, view, obj) -> bool:
        action = self._policy_action(view)
        if action is not None and policy.applies_to(action):
            if policy.can(request.user, action, obj):
                return True
            verb = action.split(".", 1)[1].replace("_", " ")
            self.message = (
                f"The permission policy does not let you {verb} {obj.code} "
                f"(status: {obj.get_status_display().lower()})."
            )
            return False
        return True


# --- throttling ----------------------------------------------------------------------------


class _RatesFromSettings:
    """Read the rate when the request comes, not when the class is imported (DRF's default),
    so `DEFAULT_THROTTLE_RATES` can be changed per environment and in tests. None: no limit."""

    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_RatesFromSettings, throttling.AnonRateThrottle):
    """Anonymous clients, per IP address (`anon` rate)."""


class UserThrottle(_RatesFromSettings, throttling.UserRateThrottle):
    """Authenticated users, per user (`user` rate)."""


class LoginThrottle(_RatesFromSettings, throttling.SimpleRateThrottle):
    """Token requests, per IP address whoever asks (`login` rate): slows down password guessing."""

    scope = "login"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


# --- pagination ----------------------------------------------------------------------------


def _parameter_error(name: str, error: ValueError) -> exceptions.ValidationError:
    return exceptions.ValidationError({name: [str(error)]})


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=2&page_size=100` (at most 500 a page).

    A page number or size that is not a whole number from 1 is a 400 on the parameter
    (DRF would answer 404 "Invalid page." or ignore the size); a page past the last is a 404.
    """

    page_size_query_param = "page_size"
    max_page_size = 500
    invalid_page_message = "There is no page {page_number}: the list has fewer pages."

    def get_page_size(self, request) -> int:
        try:
            return parse_page_size(
                request.query_params.get(self.page_size_query_param), default=self.page_size, maximum=self.max_page_size
            )
        except ValueError as error:
            raise _parameter_error(self.page_size_query_param, error) from error

    def get_page_number(self, request, paginator) -> int:
        value = request.query_params.get(self.page_query_param)
        if value in self.last_page_strings:
            return paginator.num_pages
        try:
            return parse_page_number(value)
        except ValueError as error:
            raise _parameter_error(self.page_query_param, error) from error


class KeysetPagination(pagination.BasePagination):
    """Cursor pagination on the view's `keyset_ordering`, a sort key that is unique per row.

    `next` and `previous` are opaque links; each page is one indexed range query
    (`WHERE (month, code) > (…)`), however deep. DRF's CursorPagination orders on
    one column and skips ties with an offset, which breaks past 1,000 equal values
    (thousands of expenses share a date); a composite key has no ties.
    """

    page_size = 100
    max_page_size = 1000
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    invalid_cursor_message = "This cursor is not valid: start again from the first page."

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list:
        self.request = request
        self.ordering: Sequence[str] = view.keyset_ordering
        self.fields = [queryset.model._meta.get_field(name.lstrip("-")) for name in self.ordering]
        self.size = self._page_size(request)
        direction, key = self._decode(request.query_params.get(self.cursor_query_param))
        forward = direction != "before"
        ordering = self.ordering if forward else [self._flip(name) for name in self.ordering]
        if key is not None:
            queryset = queryset.filter(self._beyond(key, forward=forward))
        rows = list(queryset.order_by(*ordering)[: self.size + 1])
        more = len(rows) > self.size
        rows = rows[: self.size]
        if not forward:
            rows.reverse()
        self.next_key = self.previous_key = None
        if rows:
            # Forward: a next page if there was one row more; a previous one if we came from a cursor.
            # Backward: the other way round.
            has_next, has_previous = (more, key is not None) if forward else (key is not None, more)
            if has_next:
                self.next_key = self._key_of(rows[-1])
            if has_previous:
                self.previous_key = self._key_of(rows[0])
        return rows

    def get_paginated_response(self, data) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_next_link(self) -> str | None:
        return self._link("after", self.next_key)

    def get_previous_link(self) -> str | None:
        return self._link("before", self.previous_key)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The `next` or `previous` link's cursor; leave out for the first page.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}, at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

    # -- internals

    def _page_size(self, request) -> int:
        try:
            return parse_page_size(
                request.query_params.get(self.page_size_query_param), default=self.page_size, maximum=self.max_page_size
            )
        except ValueError as error:
            raise _parameter_error(self.page_size_query_param, error) from error

    @staticmethod
    def _flip(name: str) -> str:
        return name[1:] if name.startswith("-") else f"-{name}"

    def _key_of(self, row) -> list[str]:
        return [field.value_to_string(row) for field in self.fields]

    def _decode(self, cursor: str | None) -> tuple[str, list | None]:
        if not cursor:
            return "after", None
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            direction, raw = data["d"], data["k"]
            if direction not in ("after", "before") or not isinstance(raw, list) or len(raw) != len(self.fields):
                raise ValueError("wrong shape")
            key = [field.to_python(value) for field, value in zip(self.fields, raw, strict=True)]
        except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error, DjangoValidationError) as error:
            raise exceptions.ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from error
        if any(value is None for value in key):
            raise exceptions.ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})
        return direction, key

    def _beyond(self, key: list, *, forward: bool) -> Q:
        """Rows strictly after (forward) or before `key` in the ordering: a lexicographic comparison.

        The first column also gets a plain bound (`month >= m`), redundant for the
        result but what lets the database start its index scan at the cursor.
        """
        beyond, equal = Q(), Q()
        for name, value in zip(self.ordering, key, strict=True):
            column = name.lstrip("-")
            ascending = not name.startswith("-")
            lookup = "gt" if ascending == forward else "lt"
            beyond |= equal & Q(**{f"{column}__{lookup}": value})
            equal &= Q(**{column: value})
        first = self.ordering[0]
        lookup = "gte" if (not first.startswith("-")) == forward else "lte"
        return Q(**{f"{first.lstrip('-')}__{lookup}": key[0]}) & beyond

    def _link(self, direction: str, key: list[str] | None) -> str | None:
        if key is None:
            return None
        payload = json.dumps({"d": direction, "k": key}, separators=(",", ":")).encode()
        cursor = base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, cursor)


def query_parameter(name: str, description: str, *, enum: Sequence[str] | None = None, **kwargs) -> OpenApiParameter:
    """A string query parameter for `@extend_schema(parameters=…)`."""
    return OpenApiParameter(name, str, OpenApiParameter.QUERY, description=description, enum=enum, **kwargs)
