"""The Django admin of the `admin` role (PRODUCT.md §1: users, roles, settings).

A member of the `admin` group opens the admin and holds every model permission there,
without Django's `is_staff` / `is_superuser` flags having to be kept in step with the
role: the role is the one place that says who administers. What the admin may change
is still bounded by the model admins, which write through the services (locks, FX
conversion, history) or are read-only where a workflow decides (initiatives).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.backends import BaseBackend


def _administers(user) -> bool:
    from portfolio import policy

    return bool(user is not None and user.is_active and policy.is_admin(user))


class PortfolioAdminSite(admin.AdminSite):
    site_header = "Right-Speed Portfolio administration"
    site_title = "Right-Speed Portfolio admin"
    index_title = "Users, roles and settings"

    def has_permission(self, request) -> bool:
        return super().has_permission(request) or _administers(request.user)


class AdminRoleBackend(BaseBackend):
    """Members of the `admin` role hold every model permission; this backend signs no one in."""

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        return _administers(user_obj)

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        return _administers(user_obj)
