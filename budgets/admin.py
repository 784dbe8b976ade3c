"""Django admin of the budgets app.

Who may read and write each model here is the permission policy's answer
(`policy.can_in_admin` through `PolicyPermissionsMixin`), as in the web UI and
the API: finance writes budget lines, expenses, FX rates and locks; the admin
role reads them; records only the app writes are read-only for everyone.

Budget lines, expenses, FX rates and locks are written through the same
services as the finance pages: the admin forms run the period-lock check (so a
locked month is a form error naming the month), `save_model` and
`delete_model` call the services, and deleting records of a locked month, one
or many, is refused with the month named.
"""

from __future__ import annotations

import dataclasses

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from portfolio.admin_site import PolicyPermissionsMixin

from .amounts import validate_budget_amount, validate_expense_amount
from .models import (
    BudgetLine,
    Expense,
    FxRate,
    ImportRun,
    PeriodLock,
)
from .services.actuals import EDITABLE_FIELDS, expense_create, expense_delete, expense_update
from .services.budgets import (
    budget_line_delete,
    budget_line_set,
    budget_line_update,
    budget_months_outside,
    budget_outside_dates_message,
)
from .services.fx import amount_in_reporting, fx_rate_delete, fx_rate_in_use, fx_rate_set, fx_rate_validate
from .services.locks import (
    PeriodLockedError,
    locked_months,
    period_lock_check,
    period_lock_create,
    period_locked_message,
    period_unlock,
)


class LockCheckedForm(forms.ModelForm):
    """Runs the period-lock check on the record's stored month and its new month."""

    date_field = "month"

    def clean(self):
        cleaned = super().clean()
        months = [cleaned.get(self.date_field)] if cleaned.get(self.date_field) else []
        if self.instance.pk:
            stored = type(self.instance).objects.filter(pk=self.instance.pk).values_list(self.date_field, flat=True)
            months += list(stored)
        try:
            period_lock_check(months=months)
        except PeriodLockedError as error:
            raise forms.ValidationError(error.messages) from None
        return cleaned


class ServiceDeleteMixin:
    """Deletes go through the services; records of a locked month are refused, named, before the confirm page."""

    date_field = "month"

    def delete_refusal(self, obj) -> str | None:
        blocked = locked_months([getattr(obj, self.date_field)])
        return period_locked_message(blocked) if blocked else None

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_delete_permission(request, obj) and (refusal := self.delete_refusal(obj)):
            self.message_user(request, refusal, messages.ERROR)
            opts = self.model._meta
            return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        if "delete_selected" in actions:
            actions["delete_selected"] = dataclasses.replace(
                actions["delete_selected"], func=ServiceDeleteMixin.delete_selected_checked
            )
        return actions

    @staticmethod
    def delete_selected_checked(modeladmin, request, queryset):
        refusals = {r for obj in queryset if (r := modeladmin.delete_refusal(obj))}
        if refusals:
            for refusal in sorted(refusals):
                modeladmin.message_user(request, f"Nothing was deleted. {refusal}", messages.ERROR)
            return None
        return delete_selected(modeladmin, request, queryset)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


# --- budget lines ----------------------------------------------------------------------


class BudgetLineAdminForm(LockCheckedForm):
    date_field = "month"
    amount = forms.DecimalField(validators=[validate_budget_amount])  # the rule of every path, its message

    class Meta:
        model = BudgetLine
        fields = ["initiative", "month", "category", "amount"]

    def clean(self):
        cleaned = super().clean()
        initiative, month = cleaned.get("initiative"), cleaned.get("month")
        if initiative is not None and month is not None and self.has_changed():
            # The rule of every path (the service asks it again, with the initiative's row locked).
            outside = budget_months_outside(
                start_date=initiative.start_date, end_date=initiative.end_date, months=[month]
            )
            if outside:
                self.add_error(
                    "month",
                    budget_outside_dates_message(
                        code=initiative.code,
                        start_date=initiative.start_date,
                        end_date=initiative.end_date,
                        months=outside,
                    ),
                )
        return cleaned


@admin.register(BudgetLine)
class BudgetLineAdmin(PolicyPermissionsMixin, ServiceDeleteMixin, SimpleHistoryAdmin):
    form = BudgetLineAdminForm
    list_display = ("initiative", "month", "category", "amount")
    list_filter = ("category", "month")
    search_fields = ("initiative__code", "initiative__title")
    list_select_related = ("initiative",)
    raw_id_fields = ("initiative",)
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        if change:
            # Every field, not form.changed_data: a history revert's form starts from the old version, so
            # what it restores is "unchanged" there; the service keeps what differs from the stored row.
            data = {name: form.cleaned_data[name] for name in BudgetLineAdminForm.Meta.fields}
            saved = budget_line_update(line=obj, data=data, by=request.user)
        else:
            saved = budget_line_set(
                initiative=obj.initiative, month=obj.month, category=obj.category, amount=obj.amount, by=request.user
            )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        budget_line_delete(line=obj, by=request.user)


# --- expenses ----------------------------------------------------------------------------


class ExpenseAdminForm(LockCheckedForm):
    date_field = "incurred_on"
    amount = forms.DecimalField(validators=[validate_expense_amount])  # the rule of every path, its message

    class Meta:
        model = Expense
        fields = [*EDITABLE_FIELDS, "source", "external_ref"]

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def clean(self):
        cleaned = super().clean()
        if all(cleaned.get(name) is not None for name in ("amount", "currency", "incurred_on")):
            try:
                amount_in_reporting(amount=cleaned["amount"], currency=cleaned["currency"], on=cleaned["incurred_on"])
            except ValidationError as error:
                self.add_error("currency", error.messages)
        return cleaned


@admin.register(Expense)
class ExpenseAdmin(PolicyPermissionsMixin, ServiceDeleteMixin, SimpleHistoryAdmin):
    form = ExpenseAdminForm
    date_field = "incurred_on"
    list_display = (
        "incurred_on",
        "initiative",
        "amount",
        "currency",
        "amount_reporting",
        "paid_by",
        "category",
        "vendor",
        "source",
    )
    list_filter = ("paid_by", "category", "currency", "source")
    search_fields = ("initiative__code", "vendor", "description", "external_ref")
    list_select_related = ("initiative",)
    raw_id_fields = ("initiative",)
    date_hierarchy = "incurred_on"
    show_full_result_count = False
    readonly_fields = ("amount_reporting",)

    def get_readonly_fields(self, request, obj=None):
        # Where a record came from does not change once it exists.
        return ("amount_reporting", "source", "external_ref") if obj else ("amount_reporting",)

    def save_model(self, request, obj, form, change):
        if change:
            data = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS}  # every field: see BudgetLineAdmin
            saved = expense_update(expense=obj, data=data, by=request.user)
        else:
            values = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS}
            saved = expense_create(
                **values,
                source=form.cleaned_data.get("source") or "manual",
                external_ref=form.cleaned_data.get("external_ref") or None,
                by=request.user,
            )
        obj.pk, obj.amount_reporting = saved.pk, saved.amount_reporting

    def delete_model(self, request, obj):
        expense_delete(expense=obj, by=request.user)


# --- FX rates -------------------------------------------------------------------------------


class FxRateAdminForm(LockCheckedForm):
    date_field = "month"

    class Meta:
        model = FxRate
        fields = ["currency", "month", "rate"]

    def clean(self):
        cleaned = super().clean()
        currency = cleaned.get("currency") or self.instance.currency
        month = cleaned.get("month") or self.instance.month
        if currency and month and cleaned.get("rate") is not None:
            try:
                fx_rate_validate(currency=currency.upper(), month=month, rate=cleaned["rate"])
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return cleaned


@admin.register(FxRate)
class FxRateAdmin(PolicyPermissionsMixin, ServiceDeleteMixin, SimpleHistoryAdmin):
    form = FxRateAdminForm
    list_display = ("currency", "month", "rate")
    list_filter = ("currency",)
    search_fields = ("currency",)

    def get_readonly_fields(self, request, obj=None):
        # A rate belongs to its currency and month; a different one is a new rate.
        return ("currency", "month") if obj else ()

    def delete_refusal(self, obj) -> str | None:
        refusal = super().delete_refusal(obj)
        if refusal is None and fx_rate_in_use(obj):
            refusal = f"{obj.currency} expenses of {obj.month:%Y-%m} are converted with this rate; change it instead."
        return refusal

    def save_model(self, request, obj, form, change):
        saved, _, recomputed = fx_rate_set(currency=obj.currency, month=obj.month, rate=obj.rate, by=request.user)
        obj.pk = saved.pk
        if recomputed:
            self.message_user(request, f"{recomputed} expenses recomputed at the new rate.", messages.INFO)

    def delete_model(self, request, obj):
        fx_rate_delete(fx_rate=obj, by=request.user)


# --- period locks ---------------------------------------------------------------------------


class PeriodLockAdminForm(forms.ModelForm):
    class Meta:
        model = PeriodLock
        fields = ["month", "reason"]


@admin.register(PeriodLock)
class PeriodLockAdmin(PolicyPermissionsMixin, SimpleHistoryAdmin):
    """Locks are created and removed through the lock services; a lock itself is not edited."""

    form = PeriodLockAdminForm
    list_display = ("month", "reason", "locked_by", "locked_at")
    search_fields = ("reason",)
    list_filter = ("locked_at",)

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        lock = period_lock_create(month=obj.month, reason=obj.reason, by=request.user)
        obj.pk, obj.locked_by = lock.pk, lock.locked_by

    def delete_model(self, request, obj):
        period_unlock(lock=obj, reason="Unlocked in the Django admin", by=request.user)

    def delete_queryset(self, request, queryset):
        try:
            with transaction.atomic():
                for lock in queryset:
                    self.delete_model(request, lock)
        except ValidationError as error:  # an app above refused an unlock (a settled month): none is unlocked
            raise PermissionDenied(" ".join(error.messages)) from error

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)  # atomic: a refusal changes nothing
        except ValidationError as error:
            self.message_user(request, f"Not unlocked. {' '.join(error.messages)}", messages.ERROR)
            return redirect(reverse("admin:budgets_periodlock_changelist"))

    def get_deleted_objects(self, objs, request):
        # What hangs on a lock (the split's closed month) is unfrozen by the apps above when
        # period_unlock announces the unlock (budgets.signals.month_unlocking); it is not a
        # protection that should stop the admin from offering the unlock.
        deleted, model_count, perms_needed, _protected = super().get_deleted_objects(objs, request)
        return deleted, model_count, perms_needed, []


# --- records only the app writes: read here, by whoever the policy lets read finance's records ---------


@admin.register(ImportRun)
class ImportRunAdmin(PolicyPermissionsMixin, admin.ModelAdmin):
    list_display = ("run_at", "kind", "file_name", "run_by", "via", "rows", "created", "changed", "unchanged")
    list_filter = ("kind", "via")
    search_fields = ("file_name", "file_sha256")
    readonly_fields = [f.name for f in ImportRun._meta.fields]
