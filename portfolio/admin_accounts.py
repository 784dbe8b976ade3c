"""The roles (Django groups) and the login lockout records in the admin of the `admin` role.

Loaded by `PortfolioAdminConfig.ready()` once every app's admin module is registered, so that it
replaces what `django.contrib.auth` and django-axes register:

- A role is a group whose *name* is the role (PRODUCT.md §1, `portfolio.roles.Role`): its members
  are given on the user form; Django's per-group permissions decide nothing here, so they are not
  shown. The four roles of the product keep their names and are not deleted (the policy reads them).
- django-axes' lockout records are written by the login: read here, never added, changed or deleted
  one by one; the only thing done with them is "Reset lockout" for the selected people.
"""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.db.models import Count

from portfolio import policy
from portfolio.admin_site import ReadOnlyAdminMixin
from portfolio.roles import Role


class RoleAdmin(admin.ModelAdmin):
    """Groups are roles: a name and its members (given on each user's form)."""

    fields = ("name",)
    list_display = ("name", "description", "member_count")
    search_fields = ("name",)
    ordering = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(members=Count("user", distinct=True))

    @admin.display(description="What it is")
    def description(self, group) -> str:
        return dict(Role.choices).get(group.name, "Not a role of the product: gives nothing")

    @admin.display(description="Members", ordering="members")
    def member_count(self, group) -> int:
        return group.members

    def get_readonly_fields(self, request, obj=None):
        return ("name",) if obj is not None and obj.name in Role.values else ()

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.name in Role.values:
            return False
        return super().has_delete_permission(request, obj)


class LockoutRecordsMixin(ReadOnlyAdminMixin):
    """Written by the login (django-axes): read only, with no bulk action but the ones named."""

    actions = ()


class AccessAttemptReadOnlyAdmin(LockoutRecordsMixin, AccessAttemptAdmin):
    actions = ("reset_lockout",)

    def has_reset_permission(self, request) -> bool:
        return policy.is_admin(request.user)

    @admin.action(description="Reset lockout of the selected people", permissions=["reset"])
    def reset_lockout(self, request, queryset):
        reset = 0
        for username, ip_address in queryset.values_list("username", "ip_address").distinct():
            reset += AxesProxyHandler.reset_attempts(username=username, ip_address=ip_address)
        cleared = f"{reset} failed sign-in attempt(s) cleared: they may sign in again."
        self.message_user(request, cleared, messages.SUCCESS)


class AccessLogReadOnlyAdmin(LockoutRecordsMixin, AccessLogAdmin):
    pass


class AccessFailureLogReadOnlyAdmin(LockoutRecordsMixin, AccessFailureLogAdmin):
    pass


def register() -> None:
    """Replace the model admins of `django.contrib.auth` and django-axes (axes' only where it registered
    them: `AXES_ENABLE_ADMIN`)."""
    if admin.site.is_registered(Group):
        admin.site.unregister(Group)
    admin.site.register(Group, RoleAdmin)
    for model, model_admin in (
        (AccessAttempt, AccessAttemptReadOnlyAdmin),
        (AccessLog, AccessLogReadOnlyAdmin),
        (AccessFailureLog, AccessFailureLogReadOnlyAdmin),
    ):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
            admin.site.register(model, model_admin)
