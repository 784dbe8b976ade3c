"""How text that people and files type is read, in every path: importers, forms, the API, URLs.

One spelling everywhere:

- **Initiative codes are case-insensitive.** `ini-0005`, ` INI-0005 ` and `INI-0005` name the
  same initiative; codes are stored upper case, so a code is compared as `canonical_code(text)`.
- **A choice is given by its value or by its label, in any case.** `it`, `IT`; `software`,
  `Software`; `fast_lane`, `Fast lane`: the labels are what the UI shows, so a person copying
  them from a page must be understood. Values are what is stored and what the API answers.

And text the database cannot hold is refused where it enters, with where it is:
PostgreSQL `text` cannot store the NUL character (U+0000), and a lone UTF-16 surrogate
(U+D800–U+DFFF) is not a character at all, so it cannot be encoded to UTF-8.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def canonical_code(text: str) -> str:
    """A code (an initiative's, a currency's) as it is stored: trimmed, upper case (`ini-0005` → `INI-0005`)."""
    return text.strip().upper()


@functools.cache
def _spellings(choices: type | tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Every accepted spelling (case-folded value or label) → the value. A value wins over another's label."""
    pairs = [(value, str(label)) for value, label in getattr(choices, "choices", choices)]
    spellings = {label.casefold(): value for value, label in pairs}
    spellings.update({str(value).casefold(): value for value, _ in pairs})
    return spellings


def choice_value(choices: type | Iterable[tuple[str, str]], text: str) -> str | None:
    """The value of the choice that `text` names by its value or its label, in any case; None if none does.

    `choices` is a `TextChoices` class (its spellings are worked out once: importers call this per row)
    or (value, label) pairs.
    """
    key = choices if isinstance(choices, type) else tuple((value, str(label)) for value, label in choices)
    return _spellings(key).get(text.strip().casefold())


def unstorable_character(text: str) -> int | None:
    """The 0-based index of the first character that cannot be stored as text (NUL, a lone surrogate), or None."""
    match = _UNSTORABLE.search(text)
    return None if match is None else match.start()


def unstorable_character_message(text: str) -> str | None:
    """Why `text` cannot be stored, naming the character and where it is (1-based); None when it can."""
    index = unstorable_character(text)
    if index is None:
        return None
    code_point = ord(text[index])
    what = "a NUL character" if code_point == 0 else "a lone surrogate, not a character"
    return f"Character {index + 1} is {what} (U+{code_point:04X}), which cannot be stored as text; remove it"


def storable(text: str) -> str:
    """`text` with every character that cannot be stored replaced by U+FFFD (for names we keep, not for data).

    A file name given on the command line may hold a lone surrogate: Python decodes a name's
    bytes that are not UTF-8 that way.
    """
    return _UNSTORABLE.sub("\ufffd", text)


# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice or Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """`text` with a leading apostrophe when a spreadsheet would read it as a formula (reports, error files)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text
