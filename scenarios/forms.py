"""Forms of the scenario pages: they read what was typed; `scenarios.services` judges it."""

from __future__ import annotations

from django import forms

from budgets.forms import BootstrapFormMixin, MonthField
from initiatives.choices import Lane
from initiatives.models import Initiative

from .choices import ChangeKind
from .models import Scenario

ADD_MANY_MAX = 500  # initiatives in one "add to scenario…" (the list shows at most 100 a page)


class ScenarioForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ChangeFieldsForm(BootstrapFormMixin, forms.Form):
    """The change itself: its kind and the value that kind takes."""

    kind = forms.ChoiceField(choices=ChangeKind.choices)
    from_month = MonthField(required=False, help_text="Share, exclusion and scale: from this month on.")
    marketing_share_pct = forms.DecimalField(required=False, label="Marketing share (%)")
    lane = forms.ChoiceField(choices=[("", "—"), *Lane.choices], required=False)
    plan_scale_pct = forms.DecimalField(required=False, label="Plan scaled to (%)")


class ChangeForm(ChangeFieldsForm):
    """One change to one initiative, on the scenario's page."""

    initiative = forms.ModelChoiceField(
        queryset=Initiative.objects.order_by("code"), to_field_name="code", help_text="Its code, e.g. INI-0042."
    )
    field_order = ["initiative"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["initiative"].widget = forms.TextInput(attrs={"class": "form-control", "placeholder": "INI-0001"})


class AddToScenarioForm(ChangeFieldsForm):
    """The same change to the initiatives selected on the list, in one of the user's scenarios or a new one."""

    initiatives = forms.ModelMultipleChoiceField(
        queryset=Initiative.objects.all(),
        to_field_name="code",
        widget=forms.MultipleHiddenInput,
        error_messages={
            "required": "Select at least one initiative on the list.",
            "invalid_choice": "%(value)s is not an initiative.",
        },
    )
    scenario = forms.ModelChoiceField(
        queryset=Scenario.objects.none(), required=False, empty_label="A new scenario…", label="Add to"
    )
    new_name = forms.CharField(max_length=120, required=False, label="New scenario's name")
    field_order = ["initiatives", "scenario", "new_name"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scenario"].queryset = Scenario.objects.filter(author=user).order_by("-updated_at", "-id")

    def clean_initiatives(self):
        chosen = self.cleaned_data["initiatives"]
        if len(chosen) > ADD_MANY_MAX:
            raise forms.ValidationError(f"Select at most {ADD_MANY_MAX} initiatives at a time.")
        return chosen

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("scenario") and not (cleaned.get("new_name") or "").strip():
            self.add_error("new_name", "Name the new scenario, or choose one of yours above.")
        return cleaned


class ProposeForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Both sponsors read it.")
