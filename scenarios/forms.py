"""Forms of the scenario pages: they read what was typed; `scenarios.services` judges it."""

from __future__ import annotations

from django import forms

from budgets.forms import BootstrapFormMixin, MonthField
from initiatives.choices import Lane
from initiatives.models import Initiative

from .choices import ChangeKind


class ScenarioForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ChangeForm(BootstrapFormMixin, forms.Form):
    initiative = forms.ModelChoiceField(
        queryset=Initiative.objects.order_by("code"), to_field_name="code", help_text="Its code, e.g. INI-0042."
    )
    kind = forms.ChoiceField(choices=ChangeKind.choices)
    from_month = MonthField(required=False, help_text="Share, exclusion and scale: from this month on.")
    marketing_share_pct = forms.DecimalField(required=False, label="Marketing share (%)")
    lane = forms.ChoiceField(choices=[("", "—"), *Lane.choices], required=False)
    plan_scale_pct = forms.DecimalField(required=False, label="Plan scaled to (%)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["initiative"].widget = forms.TextInput(attrs={"class": "form-control", "placeholder": "INI-0001"})


class ProposeForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Both sponsors read it.")
