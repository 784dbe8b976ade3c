"""Forms of the initiative pages: they parse what was typed; the services decide what is allowed.

Every error is a sentence a PM understands, shown under its field. Business
rules (sponsor sides, lanes, platforms, justification) are checked by the
services, whose field errors `apply_service_errors` puts under the same fields.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from portfolio.fiscal import month_label

from . import agreements, estimates, services, workflow
from .choices import Health, Lane
from .lane_assessment import QUESTIONS
from .models import Initiative
from .rules import visible_initiatives
from .selectors import executives

SHARE_MESSAGES = {
    "required": "Enter marketing's share of the cost, between 0 and 100.",
    "invalid": "Enter marketing's share as a number between 0 and 100, for example 60 or 62.5.",
    # No percent sign here: Django formats these messages with %-style parameters.
    "min_value": "Marketing's share must be between 0 and 100.",
    "max_value": "Marketing's share must be between 0 and 100.",
    "max_digits": "Marketing's share must be between 0 and 100.",
    "max_decimal_places": "Use at most two decimal places, for example 62.55.",
    "max_whole_digits": "Marketing's share must be between 0 and 100.",
}
ESTIMATE_MESSAGES = {
    "invalid": estimates.NOT_A_NUMBER,
    "min_value": "The estimated cost cannot be negative.",
    "max_digits": "That is more than the estimated cost can hold (under 1,000,000,000,000).",
    "max_whole_digits": "That is more than the estimated cost can hold (under 1,000,000,000,000).",
    "max_decimal_places": "Use at most two decimal places (cents), for example 125000.50.",
}
DATE_MESSAGES = {"invalid": "Enter a real date, for example 2026-03-31."}
CODE_PATTERN = re.compile(r"[A-Za-z]+-\d+")


def person_label(user) -> str:
    return user.get_full_name() or user.get_username()


class ShareField(forms.DecimalField):
    """A percentage with two decimals that reports one problem at a time (not 'too big' twice)."""

    def run_validators(self, value):
        try:
            super().run_validators(value)
        except ValidationError as error:
            raise ValidationError(error.error_list[0]) from None


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return person_label(obj)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ReasonField(forms.CharField):
    """The why of a workflow step: whether it is required, and what its absence says, is the table's
    (`workflow.reason_error`), so the form, the service and the API answer alike."""

    def __init__(self, *, step: workflow.Step, **kwargs):
        self.step = step
        kwargs.setdefault("label", step.reason.prompt)
        super().__init__(required=workflow.reason_required(step), max_length=workflow.REASON_MAX, **kwargs)

    def validate(self, value) -> None:
        if error := workflow.reason_error(self.step, value):
            raise ValidationError(error, code="reason")


def _style(form: forms.Form) -> None:
    """Bootstrap classes on every widget (the `field` template tag adds `is-invalid` where there are errors)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.RadioSelect):
            css = "btn-check"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs.setdefault("class", css)


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError under the form's fields (unknown fields go on top of the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target if target != NON_FIELD_ERRORS else None, message)


class InitiativeForm(forms.Form):
    """The filing form (create, and edit while draft or rejected), with the lane assessment."""

    title = forms.CharField(
        max_length=200,
        error_messages={
            "required": "Give the initiative a title.",
            "max_length": "Keep the title under 200 characters (it has %(show_value)d).",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. Loyalty app relaunch"}),
    )
    summary = forms.CharField(
        max_length=5000,
        label="Business outcome",
        help_text="What changes for the business or the customer when this is done.",
        error_messages={
            "required": "Describe the business outcome this initiative serves.",
            "max_length": "Keep the summary under 5,000 characters (it has %(show_value)d).",
        },
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    marketing_sponsor = PersonChoiceField(
        queryset=None,
        empty_label="Choose a marketing executive…",
        error_messages={
            "required": "Choose the marketing executive who sponsors this initiative.",
            "invalid_choice": "Choose one of the marketing executives in the list.",
        },
    )
    it_sponsor = PersonChoiceField(
        queryset=None,
        label="IT sponsor",
        empty_label="Choose an IT executive…",
        error_messages={
            "required": "Choose the IT executive who sponsors this initiative.",
            "invalid_choice": "Choose one of the IT executives in the list.",
        },
    )
    start_date = forms.DateField(
        widget=DateInput(), error_messages={"required": "Enter the start date.", **DATE_MESSAGES}
    )
    end_date = forms.DateField(widget=DateInput(), error_messages={"required": "Enter the end date.", **DATE_MESSAGES})
    marketing_share_pct = ShareField(
        label="Marketing's share (%)",
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        help_text="The share of every cost that marketing bears; IT bears the rest.",
        error_messages=SHARE_MESSAGES,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100", "inputmode": "decimal"}),
    )
    estimated_cost = forms.DecimalField(
        required=False,  # a draft may leave it out; submitting asks for it (`estimates.submission_errors`)
        label="Estimated cost",
        max_digits=14,
        decimal_places=2,
        min_value=0,
        help_text="What the whole initiative is expected to cost, in reporting currency. Needed to submit: "
        "both sponsors see it split by the share.",
        error_messages=ESTIMATE_MESSAGES,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal", "placeholder": "500000"}),
    )
    health = forms.ChoiceField(
        choices=Health.choices,
        initial=Health.GREEN,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose green, amber or red.", "invalid_choice": "Choose green, amber or red."},
    )
    lane = forms.ChoiceField(
        choices=Lane.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the fast lane or the core stack.",
            "invalid_choice": "Choose the fast lane or the core stack.",
        },
    )
    lane_justification = forms.CharField(
        required=False,
        max_length=2000,
        label="Why this lane?",
        help_text="Needed only when you choose the lane the assessment does not recommend.",
        error_messages={"max_length": "Keep the justification under 2,000 characters (it has %(show_value)d)."},
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    platforms = forms.CharField(
        required=False,
        max_length=2000,
        label="Platforms it builds on",
        help_text="Codes of the core-stack initiatives this fast-lane initiative builds on, e.g. INI-0007, INI-0012.",
        error_messages={"max_length": "That is too long for a list of codes."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "INI-0007, INI-0012"}),
    )

    def __init__(self, *args, user, instance: Initiative | None = None, submitting: bool = False, **kwargs):
        self.user = user
        self.instance = instance
        self.submitting = submitting  # "Save and submit": what submitting needs is required too
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(instance)
        super().__init__(*args, **kwargs)
        self.fields["marketing_sponsor"].queryset = executives(side="marketing")
        self.fields["it_sponsor"].queryset = executives(side="it")
        self.fields["estimated_cost"].label = f"Estimated cost ({settings.REPORTING_CURRENCY})"
        for question in QUESTIONS:
            self.fields[f"assessment_{question.key}"] = forms.ChoiceField(
                label=question.text,
                help_text=question.help_text,
                choices=question.choices,
                widget=forms.RadioSelect,
                error_messages={"required": "Answer this question.", "invalid_choice": "Choose one of the answers."},
            )
        _style(self)

    @staticmethod
    def initial_from(instance: Initiative) -> dict:
        initial = {
            "title": instance.title,
            "summary": instance.summary,
            "marketing_sponsor": instance.marketing_sponsor_id,
            "it_sponsor": instance.it_sponsor_id,
            "start_date": instance.start_date,
            "end_date": instance.end_date,
            "marketing_share_pct": instance.marketing_share_pct,
            "estimated_cost": instance.estimated_cost,
            "health": instance.health,
            "lane": instance.lane,
            "lane_justification": instance.lane_justification,
            "platforms": ", ".join(instance.platforms.order_by("id").values_list("code", flat=True)),
        }
        for key, value in (instance.lane_assessment or {}).items():
            initial[f"assessment_{key}"] = value
        return initial

    @staticmethod
    def data_from(instance: Initiative) -> dict[str, str]:
        """The saved values as if typed in the form: bound to them, the form shows what the initiative
        still lacks (`submitting=True`: the estimate) next to its field."""
        data = {}
        for name, value in InitiativeForm.initial_from(instance).items():
            if value is None:
                data[name] = ""
            elif isinstance(value, dt.date):
                data[name] = f"{value:%Y-%m-%d}"
            else:
                data[name] = str(value)
        return data

    @property
    def assessment_fields(self) -> list[forms.BoundField]:
        return [self[f"assessment_{q.key}"] for q in QUESTIONS]

    def assessment_answers(self) -> dict[str, str]:
        """The answers as typed so far (also for an invalid form: the live recommendation uses them)."""
        source = self.data if self.is_bound else self.initial
        return {q.key: source.get(f"assessment_{q.key}") or "" for q in QUESTIONS}

    def chosen_lane(self) -> str:
        source = self.data if self.is_bound else self.initial
        value = source.get("lane") or ""
        return value if value in Lane.values else ""

    def lane_preselect(self, recommended: str) -> bool:
        """Show the recommended lane as selected when the PM has chosen none; True when it did.

        Only what the form shows changes: a submission without a lane stays invalid
        (the page says the recommendation is now selected), so nothing is ever saved
        in a lane the PM has not seen. The page's script does the same live
        (static/initiatives/lane_choice.js).
        """
        source = self.data if self.is_bound else self.initial
        if not recommended or source.get("lane"):  # chosen, or a value to refuse as it is
            return False
        if self.is_bound:
            self.data = self.data.copy()
            self.data["lane"] = recommended
        else:
            self.initial = {**self.initial, "lane": recommended}
        return True

    def clean_platforms(self) -> list[Initiative]:
        text = self.cleaned_data.get("platforms", "")
        codes = [code.upper() for code in CODE_PATTERN.findall(text)]
        leftover = CODE_PATTERN.sub("", text).replace(",", " ").split()
        if leftover:
            raise ValidationError(
                "Use initiative codes such as INI-0007, separated by commas; “%(word)s” is not one.",
                params={"word": leftover[0][:40]},
            )
        if len(codes) > 50:
            raise ValidationError("An initiative builds on at most 50 platforms.")
        codes = list(dict.fromkeys(codes))
        found = {
            i.code: i
            for i in visible_initiatives(self.user, Initiative.objects.all())
            .filter(code__in=codes)
            .only("id", "code", "lane")
        }
        unknown = [code for code in codes if code not in found]
        if unknown:
            raise ValidationError(
                "No initiative you can see has the code %(codes)s.", params={"codes": ", ".join(unknown)}
            )
        return [found[code] for code in codes]

    def clean(self):
        """Apply the services' field rules too, so every problem shows at once next to its field."""
        cleaned = super().clean()
        data = {**dict.fromkeys(self.fields), **cleaned}
        data["platforms"] = data["platforms"] or []
        problems = services.initiative_field_errors(initiative=self.instance, by=self.user, **self.service_kwargs(data))
        for field, message in problems.items():
            if field in self.fields:
                if field not in self.errors:
                    self.add_error(field, message)
            else:
                self.add_error(None, message)
        if self.submitting and "estimated_cost" not in self.errors:
            for field, message in estimates.submission_errors(estimated_cost=data["estimated_cost"]).items():
                self.add_error(field, message)
        return cleaned

    def service_kwargs(self, data: dict | None = None) -> dict:
        data = self.cleaned_data if data is None else data
        return {
            "title": data["title"],
            "summary": data["summary"],
            "marketing_sponsor": data["marketing_sponsor"],
            "it_sponsor": data["it_sponsor"],
            "lane": data["lane"],
            "start_date": data["start_date"],
            "end_date": data["end_date"],
            "marketing_share_pct": data["marketing_share_pct"],
            "estimated_cost": data["estimated_cost"],
            "health": data["health"],
            "platforms": data["platforms"],
            "lane_assessment": {q.key: data[f"assessment_{q.key}"] or "" for q in QUESTIONS},
            "lane_justification": data["lane_justification"],
        }


class ReasonForm(forms.Form):
    """The why of a workflow step: required or optional as its row of the workflow table says."""

    def __init__(self, *args, step: workflow.Step, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"] = ReasonField(step=step, widget=forms.Textarea(attrs={"rows": 4}))
        _style(self)


class HealthForm(forms.Form):
    health = forms.ChoiceField(
        choices=Health.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose green, amber or red.", "invalid_choice": "Choose green, amber or red."},
    )
    reason = forms.CharField(
        required=False,  # for amber or red only: clean() asks the workflow table
        label=workflow.UPDATE_HEALTH.reason.prompt,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Needed for amber or red"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)

    def clean(self):
        data = super().clean()
        if "health" in data and (
            error := workflow.reason_error(workflow.UPDATE_HEALTH, data.get("reason"), choice=data["health"])
        ):
            self.add_error("reason", error)
        return data


class MonthSelect(forms.Select):
    """A select whose locked months are shown but cannot be picked (`disabled_values`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.disabled_values: set[str] = set()

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if str(value) in self.disabled_values:
            option["attrs"]["disabled"] = True
        return option


class ChangeProposalForm(forms.Form):
    """A new share, lane or sponsor for an approved or in-progress initiative (empty = unchanged)."""

    marketing_share_pct = ShareField(
        required=False,
        label="New marketing share (%)",
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        error_messages=SHARE_MESSAGES,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100", "inputmode": "decimal"}),
    )
    effective_from = forms.ChoiceField(
        required=False,
        label="From month",
        help_text="The new share applies from this month on; earlier months keep the share agreed for them. "
        "Locked months cannot be chosen.",
        widget=MonthSelect,
        error_messages={"invalid_choice": "Choose a month from the list."},
    )
    lane = forms.ChoiceField(
        required=False,
        label="New lane",
        choices=[("", "Keep the current lane"), *Lane.choices],
        error_messages={"invalid_choice": "Choose the fast lane or the core stack."},
    )
    marketing_sponsor = PersonChoiceField(
        queryset=None,
        required=False,
        label="New marketing sponsor",
        empty_label="Keep the current sponsor",
        error_messages={"invalid_choice": "Choose one of the marketing executives in the list."},
    )
    it_sponsor = PersonChoiceField(
        queryset=None,
        required=False,
        label="New IT sponsor",
        empty_label="Keep the current sponsor",
        error_messages={"invalid_choice": "Choose one of the IT executives in the list."},
    )
    reason = ReasonField(step=workflow.PROPOSE_CHANGE, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, initiative: Initiative, **kwargs):
        super().__init__(*args, **kwargs)
        self.initiative = initiative
        self.fields["marketing_sponsor"].queryset = executives(side="marketing").exclude(
            pk=initiative.marketing_sponsor_id
        )
        self.fields["it_sponsor"].queryset = executives(side="it").exclude(pk=initiative.it_sponsor_id)
        self.fields["marketing_share_pct"].widget.attrs["placeholder"] = f"now {initiative.marketing_share_pct}"
        default_month = agreements.effective_month_default(initiative)
        months = agreements.effective_month_choices(initiative, default=default_month)
        effective = self.fields["effective_from"]
        effective.choices = [
            (f"{month:%Y-%m}", f"{month_label(month)} (locked)" if locked else month_label(month))
            for month, locked in months
        ]
        effective.widget.disabled_values = {f"{month:%Y-%m}" for month, locked in months if locked}
        self.initial.setdefault("effective_from", f"{default_month:%Y-%m}")
        _style(self)

    def clean_effective_from(self):
        value = self.cleaned_data.get("effective_from")
        if not value:
            return None
        year, month = value.split("-")
        return dt.date(int(year), int(month), 1)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "marketing_share_pct": data["marketing_share_pct"],
            "effective_from": data["effective_from"],
            "lane": data["lane"],
            "marketing_sponsor": data["marketing_sponsor"],
            "it_sponsor": data["it_sponsor"],
            "reason": data["reason"],
        }
