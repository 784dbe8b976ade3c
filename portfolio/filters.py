"""The filters every FilterSet shares: a choice by its value or its label in any case, an initiative code in any case.

One spelling everywhere (the importers, the split filters, the lists and the API): `ChoiceValueFilter`
reads a choice through `portfolio.text.choice_value`, `CodeFilter` a code through
`portfolio.text.canonical_code`. Only django_filters and Django here: no app is imported.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django_filters.fields import ChoiceField

from portfolio.nul_guard import nul_parameter_message
from portfolio.text import canonical_code, choice_value, unstorable_character


class ParameterField(forms.CharField):
    """A query parameter's text, trimmed; one holding a NUL (or a lone surrogate) is refused by name.

    The database cannot compare such a value (a form's POST is not checked by the NUL guard).
    `parameter` is the parameter's name, set by the form.
    """

    parameter = ""

    def clean(self, value):
        if isinstance(value, str) and unstorable_character(value) is not None:
            raise forms.ValidationError(nul_parameter_message(self.parameter), code="nul")
        text = super().clean(value)
        return self.parse(text) if text else None

    def parse(self, text: str) -> Any:
        return text

    @staticmethod
    def refuse(message: str, text: str) -> forms.ValidationError:
        # The value goes in as a param: a message is a %-format string, and the value may hold a `%`.
        return forms.ValidationError(message, code="invalid", params={"value": text})


class ChoiceValueField(ParameterField):
    """A choice by its value or its label, in any case (`portfolio.text.choice_value`) → its value.

    A text parameter whose refusal names the choice (`noun`) and lists its values.
    """

    def __init__(self, *, choices, noun: str, **kwargs):
        kwargs.pop("empty_label", None)
        kwargs.pop("null_label", None)
        super().__init__(**kwargs)
        self.choices, self.noun = choices, noun

    def parse(self, text: str) -> str:
        if (value := choice_value(self.choices, text)) is None:
            values = ", ".join(value for value, _ in self.choices)
            raise self.refuse(f"“%(value)s” is not a {self.noun}: use one of {values}.", text)
        return value


class ChoiceSelectField(ChoiceField):
    """A select (with its empty label) that also reads a choice's label, or its value, in any case.

    A value naming no choice is refused with Django's own "Select a valid choice." message.
    """

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return text
        pairs = [(str(key), str(label)) for key, label in self.choices if key not in ("", self.null_value)]
        value = choice_value(pairs, text)
        return text if value is None else value

    def bound_data(self, data, initial):
        """The select shows the choice a label named (the list filters by it), not "Any …"."""
        data = super().bound_data(data, initial)
        return self.to_python(data) if isinstance(data, str) else data


class ChoiceValueFilter(django_filters.ChoiceFilter):
    """Documented with the choices' values as its enum; also takes their labels, in any case.

    With `noun` it is a text parameter whose message names the choice (the split filters);
    without, a select with Django's message (the HTML lists and their APIs).
    """

    field_class = ChoiceValueField

    def __init__(self, *args, **kwargs):
        if "noun" not in kwargs:
            self.field_class = ChoiceSelectField
        super().__init__(*args, **kwargs)


class CodeField(ParameterField):
    def parse(self, text: str) -> str:
        return canonical_code(text)


class CodeFilter(django_filters.CharFilter):
    """An initiative code in any case, trimmed (`portfolio.text.canonical_code`)."""

    field_class = CodeField
