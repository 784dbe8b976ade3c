"""Finance pages under /finance/ (PRODUCT.md §4)."""

from django.urls import path

import initiatives.converters  # noqa: F401 - registers <initiative_code:…>
from budgets.views import audit, expenses, fx, grid, imports, locks

app_name = "budgets"

urlpatterns = [
    path("", grid.finance_home, name="home"),
    path("budgets/", grid.budget_index, name="budget_index"),
    path("budgets/open/", grid.budget_jump, name="budget_jump"),
    path("budgets/<initiative_code:code>/<str:fiscal_year>/", grid.budget_grid_view, name="budget_grid"),
    path("expenses/", expenses.expense_list, name="expense_list"),
    path("expenses/new/", expenses.expense_create_view, name="expense_create"),
    path("expenses/<int:pk>/edit/", expenses.expense_update_view, name="expense_update"),
    path("expenses/<int:pk>/delete/", expenses.expense_delete_view, name="expense_delete"),
    path("imports/", imports.import_upload, name="import_upload"),
    path("imports/templates/<str:kind>.csv", imports.import_template, name="import_template"),
    path("imports/<str:token>/", imports.import_preview, name="import_preview"),
    path("imports/<str:token>/errors.csv", imports.import_errors_csv, name="import_errors"),
    path("imports/<str:token>/cancel/", imports.import_cancel, name="import_cancel"),
    path("fx-rates/", fx.fx_rate_list, name="fx_rate_list"),
    path("fx-rates/<int:pk>/edit/", fx.fx_rate_update, name="fx_rate_update"),
    path("fx-rates/<int:pk>/delete/", fx.fx_rate_delete_view, name="fx_rate_delete"),
    path("locks/", locks.lock_list, name="lock_list"),
    path("locks/<int:pk>/unlock/", locks.lock_unlock, name="lock_unlock"),
    path("audit/", audit.audit_log_view, name="audit_log"),
]
