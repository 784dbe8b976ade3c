"""What a request that failed on our side answers: `handler500` (portfolio/urls.py).

Two kinds of failure, told apart by the exception being handled:

- the database could not be reached or gave up on the statement (`OperationalError`,
  `InterfaceError`: PostgreSQL restarting, a dropped connection, a timeout) — the same
  request will very likely work in a moment: **503** with
  `Retry-After`, so a client or a load balancer retries instead of reporting a bug;
- anything else — a bug: **500**, logged with its traceback by Django.

Under `/api/` the answer is JSON (`{"detail": …}`) like every other API error; elsewhere
it is a page that needs nothing but the template (no database, no session, no user).
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

API_PREFIX = "/api/"
RETRY_AFTER_SECONDS = 30

UNAVAILABLE = "The database is unavailable for a moment. Try again shortly."
SERVER_ERROR = "Something went wrong on our side. The error has been logged."


def database_unavailable(exception: BaseException | None) -> bool:
    """Is this failure the database being out of reach, rather than a bug?"""
    return isinstance(exception, OperationalError | InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: 503 while the database is out of reach, 500 otherwise; JSON under /api/."""
    unavailable = database_unavailable(sys.exception())
    status = 503 if unavailable else 500
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse({"detail": UNAVAILABLE if unavailable else SERVER_ERROR}, status=status)
    else:
        template = loader.get_template("503.html" if unavailable else "500.html")
        response = HttpResponse(template.render(), status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
