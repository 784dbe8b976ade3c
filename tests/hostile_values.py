"""Values a hostile or careless client sends, shared by the query-parameter fuzzing and the schemathesis run.

Each once broke something: `%` and `%s` in a message formatted with `%` (issue 14 §5),
NUL which PostgreSQL cannot store or compare, integers past a bigint in OFFSET, and
JSON numbers read as floats, which rounded `100.0000000000000000001` to 100.00 (§6).
"""

from __future__ import annotations

# Query-parameter values: formatting characters, NUL, huge and negative integers, floats that overflow,
# and the first and last days a date can hold (a day after the last one does not exist).
QUERY_VALUES = [
    "%",
    "%s",
    "100%",
    "%(value)s",
    "\x00",
    "INI-0001\x00",
    "99999999999999999999",
    "-99999999999999999999",
    "-1",
    "0",
    "1e400",
    "NaN",
    "0001-01-01",
    "9999-12-31",
]

# JSON number literals (sent as raw text, never through a float) for a money or percentage field.
# None of them is a valid amount: too precise, out of range, not finite, or not a number at all.
JSON_NUMBERS = [
    "100.0000000000000000001",
    "0.000000001",
    "1e400",
    "-1e400",
    "1e-400",
    "99999999999999999999",
    "99999999999999999999.5",
    "1" + "0" * 5000,
    "NaN",
    "Infinity",
    "-Infinity",
    "true",
    "false",
    "[]",
    "{}",
]


def value_id(value: str) -> str:
    """A readable pytest id for a hostile value (NUL and very long values spelled out)."""
    text = value.replace("\x00", "NUL")
    return text if len(text) <= 24 else f"{text[:10]}…({len(text)} chars)"
