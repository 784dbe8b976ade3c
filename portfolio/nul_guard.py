"""Refuse a NUL byte (`%00`) in a request's path or query string before a view hands it to the database.

PostgreSQL cannot hold NUL in text: any lookup or filter given one fails ("A string
literal cannot contain NUL (0x00) characters"), which was a 500 on every page that
reads a code or a search from the URL. No link or form of ours produces one, so the
request is refused whole, in one place, rather than every view checking every value:

- in the path: 404, no page has that address (JSON under /api/, like every API error);
- in a query parameter: 400 naming the parameter — `{"q": ["…"]}` under /api/ as for any
  field, a plain page elsewhere (not a fallback to "no filter": a file export would then
  silently cover everything).

Request bodies are left to the forms and serializers: their text fields refuse NUL with
a message on the field.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from portfolio.errors import API_PREFIX

NUL = "\x00"


def nul_parameter_message(name: str) -> str:
    return f"“{name}” contains a NUL character (%00), which no value can hold."


def parameters_with_nul(request: HttpRequest) -> list[str]:
    """The query parameters whose name or a value holds a NUL byte, in the order given."""
    return [
        name.replace(NUL, "\\x00")
        for name, values in request.GET.lists()
        if NUL in name or any(NUL in value for value in values)
    ]


class NulGuardMiddleware:
    """After the login check (anonymous users still go to the login page): see the module's docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        api = request.path.startswith(API_PREFIX)
        if NUL in request.path:
            if api:
                return JsonResponse({"detail": "Not found."}, status=404)
            raise Http404("The address holds a NUL character.")
        names = parameters_with_nul(request)
        if not names:
            return None
        if api:
            return JsonResponse({name: [nul_parameter_message(name)] for name in names}, status=400)
        notices = [nul_parameter_message(name) for name in names]
        return render(request, "bad_request.html", {"notices": notices}, status=400)
