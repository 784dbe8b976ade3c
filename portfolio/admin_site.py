"""The Django admin of the `admin` role (PRODUCT.md §1: users, roles, settings).

A member of the `admin` group opens the admin without Django's `is_staff` / `is_superuser`
flags having to be kept in step with the role: the role is the one place that says who
administers. There it holds the model permissions of users, roles and settings; finance's
records are another matter: their model admins ask the permission policy
(`PolicyPermissionsMixin`), which lets the admin role read them and only finance write
them, as in the web UI and the API.
"""

from __future__ import annotations

from functools import update_wrapper

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from portfolio import policy


def _administers(user) -> bool:
    return bool(user is not None and user.is_active and policy.is_admin(user))


class PortfolioAdminSite(admin.AdminSite):
    site_header = "Right-Speed Portfolio administration"
    site_title = "Right-Speed Portfolio admin"
    index_title = "Users, roles and settings"

    def has_permission(self, request) -> bool:
        return super().has_permission(request) or _administers(request.user)

    # Who may not administer is not offered the admin's own password form: a signed-in person of
    # another role gets a plain page saying so (403), and someone not signed in the app's sign-in
    # page (the one with single sign-on and the lockout), coming back to the admin afterwards.

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if not self.has_permission(request):
                if request.user.is_authenticated:
                    return not_for_your_role(request)
                return redirect_to_login(request.get_full_path())
            return guarded(request, *args, **kwargs)

        return never_cache(update_wrapper(inner, guarded))

    def login(self, request, extra_context=None):
        if request.user.is_authenticated and not self.has_permission(request):
            return not_for_your_role(request)
        if not request.user.is_authenticated:
            index = reverse("admin:index", current_app=self.name)
            wanted = request.GET.get("next", "")
            return redirect_to_login(wanted if wanted.startswith(index) else index)
        return super().login(request, extra_context)


def not_for_your_role(request):
    """The plain page a signed-in person of another role gets at /admin/…, with a link home."""
    return render(request, "admin_not_for_role.html", status=403)


class AdminRoleBackend(BaseBackend):
    """Members of the `admin` role hold every Django model permission; this backend signs no one in.

    The model admins of finance's records do not ask for these permissions: the policy decides there.
    """

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        return _administers(user_obj)

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        return _administers(user_obj)


class PolicyPermissionsMixin:
    """For the model admins of finance's records: `policy.can_in_admin` decides view, add, change and
    delete — so the buttons, the forms, the bulk actions and the history pages — instead of Django's
    model permissions (which superusers and the admin role hold for every model)."""

    def _policy_allows(self, request, permission: str) -> bool:
        return policy.can_in_admin(request.user, permission, self.opts.label_lower)

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._policy_allows(request, "view")

    def has_add_permission(self, request) -> bool:
        return self._policy_allows(request, "add")

    def has_change_permission(self, request, obj=None) -> bool:
        return self._policy_allows(request, "change")

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._policy_allows(request, "delete")

    # django-simple-history: reading a record's history is viewing it, reverting it is changing it.

    def has_view_history_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)

    def has_change_history_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple_history saves a posted revert for anyone who may *view* the history. A revert
        # changes the live record, so it needs the change permission on it; a deleted record is
        # not brought back this way (it is recorded again through the add form and its service).
        if request.method == "POST":
            current = self.get_object(request, unquote(object_id))
            if current is None or not self.has_change_history_permission(request, current):
                raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReadOnlyAdminMixin:
    """For records only the app writes (its workflow, sequences, jobs): the admin reads them, never
    adds, changes or deletes them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # django-simple-history saves a posted revert for whoever may view the history: not here.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
