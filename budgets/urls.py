"""Finance pages under /finance/ (PRODUCT.md §4)."""

from django.urls import path

import initiatives.converters  # noqa: F401 - registers <initiative_code:…>
from budgets import views

app_name = "budgets"

urlpatterns = [
    path("", views.finance_home, name="home"),
    path("budgets/", views.budget_index, name="budget_index"),
    path("budgets/open/", views.budget_jump, name="budget_jump"),
    path("budgets/<initiative_code:code>/<str:fiscal_year>/", views.budget_grid_view, name="budget_grid"),
    path("expenses/", views.expense_list, name="expense_list"),
    path("expenses/new/", views.expense_create_view, name="expense_create"),
    path("expenses/<int:pk>/edit/", views.expense_update_view, name="expense_update"),
    path("expenses/<int:pk>/delete/", views.expense_delete_view, name="expense_delete"),
    path("imports/", views.import_upload, name="import_upload"),
    path("imports/templates/<str:kind>.csv", views.import_template, name="import_template"),
    path("imports/<str:token>/", views.import_preview, name="import_preview"),
    path("imports/<str:token>/errors.csv", views.import_errors_csv, name="import_errors"),
    path("imports/<str:token>/cancel/", views.import_cancel, name="import_cancel"),
    path("fx-rates/", views.fx_rate_list, name="fx_rate_list"),
    path("fx-rates/<int:pk>/edit/", views.fx_rate_update, name="fx_rate_update"),
    path("fx-rates/<int:pk>/delete/", views.fx_rate_delete_view, name="fx_rate_delete"),
    path("locks/", views.lock_list, name="lock_list"),
    path("locks/<int:pk>/unlock/", views.lock_unlock, name="lock_unlock"),
    path("audit/", views.audit_log_view, name="audit_log"),
]
