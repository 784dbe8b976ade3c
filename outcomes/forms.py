"""Forms of the outcome pages. They only parse what was typed; `outcomes.services` judges it (the rule the
API and the import apply too), so every path gives the same message, shown under the field it names."""

from __future__ import annotations

from django import forms

from budgets.forms import BootstrapFormMixin

from .choices import Direction, Side
from .services import NAME_MAX, UNIT_MAX

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _number(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", **attrs})


class KpiForm(BootstrapFormMixin, forms.Form):
    """An outcome KPI's definition (§3b): what success looks like, from where to where, by when."""

    name = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"maxlength": NAME_MAX}), help_text="e.g. Checkout conversion rate"
    )
    unit = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"maxlength": UNIT_MAX}), help_text="e.g. %, ms, USD"
    )
    direction = forms.CharField(
        required=False, widget=forms.Select(choices=[("", "Choose…"), *Direction.choices]), label="Better when it goes"
    )
    baseline = forms.CharField(required=False, widget=_number(), help_text="Where it stands before the initiative.")
    target = forms.CharField(required=False, widget=_number(), help_text="Where it should be by the target date.")
    target_date = forms.CharField(required=False, widget=DATE, label="Target date")
    owner_side = forms.CharField(
        required=False, widget=forms.Select(choices=[("", "Choose…"), *Side.choices]), label="Owning side"
    )

    @classmethod
    def of(cls, kpi, **kwargs) -> KpiForm:
        """The form filled with `kpi`'s definition (values without trailing zeros)."""
        initial = {name: getattr(kpi, name) for name in cls.base_fields}
        for name in ("baseline", "target"):
            initial[name] = f"{initial[name].normalize():f}"
        return cls(initial=initial, **kwargs)


class MeasurementForm(BootstrapFormMixin, forms.Form):
    """A KPI's value on a day; recording a day again corrects it."""

    measured_on = forms.CharField(required=False, widget=DATE, label="Day")
    value = forms.CharField(required=False, widget=_number(), label="Value")
