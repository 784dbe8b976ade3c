"""Request ids: one id per request, on the response and in every log line written while serving it.

A load balancer or proxy that already assigned an `X-Request-ID` keeps its id, so one
request can be followed from the proxy's log to ours; otherwise we make one. The id
lives in a context variable until the response is closed (Django logs 4xx and 5xx
responses after the middleware chain has returned, and those lines need the id too),
and `portfolio.logging.RequestIdFilter` copies it into each log record.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

REQUEST_ID_HEADER = "X-Request-ID"
NO_REQUEST_ID = "-"  # what log lines written outside a request (commands, workers) carry

request_id_var: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST_ID)

# An id from outside is kept only if it is short and plain: it ends up in log files.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

access_logger = logging.getLogger("portfolio.request")


def current_request_id() -> str:
    """The id of the request being served in this context, or `-` outside a request."""
    return request_id_var.get()


def request_id_from(request: HttpRequest) -> str:
    """The caller's `X-Request-ID` when it is acceptable, else a new random id."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    if _ACCEPTABLE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def _user_id_if_loaded(request: HttpRequest) -> int | None:
    """The signed-in user's id when the request already loaded the user: never a query just to log it."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk


# Paths that carry a secret (a password reset link's token): the access log writes their route instead.
SECRET_PATHS = frozenset({"password_reset_confirm"})


def loggable_path(request: HttpRequest) -> str:
    """The request's path for the access log, with a secret-bearing path replaced by its route."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name in SECRET_PATHS:
        return "/" + match.route
    return request.path


class RequestIdMiddleware:
    """First in MIDDLEWARE: sets the request id, answers with it, and writes one access line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request)
        request.request_id = request_id
        request_id_var.set(request_id)  # cleared by _forget_request_id when the response is closed
        started = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        path = loggable_path(request)
        access_logger.info(
            "%s %s %s %.1fms",
            request.method,
            path,
            response.status_code,
            duration_ms,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": _user_id_if_loaded(request),
            },
        )
        return response


def _forget_request_id(**kwargs) -> None:
    """After the response is sent, the thread serves no request: its log lines carry `-` again."""
    request_id_var.set(NO_REQUEST_ID)


request_finished.connect(_forget_request_id, dispatch_uid="portfolio.middleware.forget_request_id")
