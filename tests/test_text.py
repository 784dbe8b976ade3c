"""portfolio.text: one spelling of codes and choices, and the characters no database column can hold."""

import pytest

from budgets.choices import Category, Payer
from initiatives.choices import Lane
from portfolio.text import canonical_code, choice_value, storable, unstorable_character, unstorable_character_message


@pytest.mark.parametrize("text", ["INI-0005", "ini-0005", " Ini-0005\t"])
def test_codes_are_case_insensitive(text):
    assert canonical_code(text) == "INI-0005"


@pytest.mark.parametrize(
    "choices, text, value",
    [
        (Payer, "it", "it"),
        (Payer, "IT", "it"),
        (Payer, " Marketing ", "marketing"),
        (Category, "Software", "software"),
        (Category, "INFRASTRUCTURE", "infrastructure"),
        (Lane, "fast_lane", "fast_lane"),
        (Lane, "Fast lane", "fast_lane"),
        (Lane, "CORE STACK", "core_stack"),
        (Lane.choices, "core_stack", "core_stack"),
        (Payer, "finance", None),
        (Lane, "fast-lane", None),
        (Category, "", None),
    ],
)
def test_a_choice_is_its_value_or_its_label_in_any_case(choices, text, value):
    assert choice_value(choices, text) == value


def test_a_value_wins_over_another_choices_label():
    choices = [("a", "B"), ("b", "Bee")]
    assert choice_value(choices, "b") == "b"


@pytest.mark.parametrize(
    "text, index", [("plain", None), ("", None), ("ab\x00c", 2), ("\ud800x", 0), ("é✓ and emoji 🙂", None)]
)
def test_unstorable_characters_are_found(text, index):
    assert unstorable_character(text) == index


def test_the_message_names_the_character_and_its_position():
    assert unstorable_character_message("Studio\x00") == (
        "Character 7 is a NUL character (U+0000), which cannot be stored as text; remove it"
    )
    assert "lone surrogate" in unstorable_character_message("x\udcff")
    assert unstorable_character_message("fine") is None


def test_storable_replaces_what_cannot_be_stored():
    assert storable("erp-\udcff\x00.csv") == "erp-\ufffd\ufffd.csv"
