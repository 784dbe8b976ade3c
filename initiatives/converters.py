"""`<initiative_code:code>` in URL patterns: an initiative code in any case (portfolio.text's one spelling).

`/initiatives/ini-0005/` is the page of INI-0005, as the API and the forms read the code;
a path whose code holds a character no database column can store (`INI%00`) matches
nothing (404) instead of reaching a query that PostgreSQL refuses.
Imported by every urls module that uses it: registering it is a side effect of the import.
"""

from __future__ import annotations

from django.urls import register_converter

from portfolio.text import canonical_code, unstorable_character


class InitiativeCodeConverter:
    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        if unstorable_character(value) is not None:
            raise ValueError("not an initiative code")  # the resolver tries the next pattern, then 404
        return canonical_code(value)

    def to_url(self, value: str) -> str:
        return str(value)


register_converter(InitiativeCodeConverter, "initiative_code")
