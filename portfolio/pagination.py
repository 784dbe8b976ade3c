"""Page numbers and page sizes from query parameters, read the same way by every list, web and API.

A page number comes from a link, and links get mangled: `?page=abc`, `?page=-1`,
`?page=99999999999999999999` (past a bigint: an OFFSET PostgreSQL refuses). The
parsers here say what is wrong in plain words (`ValueError`); the API answers that as a
400 on the parameter (`portfolio.api`), a web page shows a page that exists with the
words as a notice (`web_page_number`) — never a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest

PAGE_PARAMETER = "page"
# Far beyond any list of ours (50 rows a page: 50 million rows); keeps OFFSET well within a bigint.
MAX_PAGE_NUMBER = 1_000_000
SHOWN_LENGTH = 30  # a value quoted back is cut short: it is the client's text, not ours


def shown(value: str) -> str:
    """A value from the URL as a message quotes it: trimmed, cut short if long."""
    value = value.strip()
    return value if len(value) <= SHOWN_LENGTH else f"{value[: SHOWN_LENGTH - 1]}…"


def _whole_number(value: str) -> int | None:
    text = value.strip()
    digits = text.removeprefix("-").removeprefix("+")
    # ASCII digits only (int() would take "١٢" or "1_0"), and not so many that int() has to work for it.
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > 30:
        return None
    return int(text)


def parse_page_number(value: str | None) -> int:
    """`"3"` → 3; blank → 1. ValueError (its message for the person) for anything but a whole number from 1.

    A number past `MAX_PAGE_NUMBER` is refused here too: no list is that long.
    """
    if value is None or not value.strip():
        return 1
    number = _whole_number(value)
    if number is None:
        raise ValueError(f"“{shown(value)}” is not a page number: pages are numbered 1, 2, 3…")
    if number < 1:
        raise ValueError(f"There is no page {number}: pages are numbered from 1.")
    if number > MAX_PAGE_NUMBER:
        raise ValueError(f"There is no page {shown(value)}: no list here has that many pages.")
    return number


def parse_page_size(value: str | None, *, default: int, maximum: int) -> int:
    """`"100"` → 100 (at most `maximum`); blank → `default`. ValueError for anything but a whole number from 1."""
    if value is None or not value.strip():
        return default
    size = _whole_number(value)
    if size is None or size < 1:
        raise ValueError(f"“{shown(value)}” is not a page size: give a whole number from 1 to {maximum}.")
    return min(size, maximum)


def web_page_number(request: HttpRequest, *, last: int | None = None) -> int:
    """The page a web list shows for `?page=`: the one asked for when it exists, else a page that does.

    A page number that is not one shows the first page, one past `last` the last page
    (Django's `Paginator.get_page` does the same, silently); either way the page says so
    in a notice. `last=None`: the list does not count its rows, the caller checks for
    an empty page itself.
    """
    raw = request.GET.get(PAGE_PARAMETER)
    try:
        number = parse_page_number(raw)
    except ValueError as error:
        messages.warning(request, f"{error} Showing the first page.")
        return 1
    if last is not None and number > max(last, 1):
        last = max(last, 1)
        messages.warning(request, f"There is no page {number}: the list ends at page {last}, shown here.")
        return last
    return number
