from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    name = "budgets"
    verbose_name = "Budgets and actuals"

    def ready(self) -> None:
        from budgets.selectors import actual_to_date_expression, plan_total_expression
        from budgets.services.budgets import budget_months_stranded
        from budgets.services.locks import locked_months_for_initiatives
        from portfolio import periods, plan_months

        periods.register(locked_months_for_initiatives)  # "is this month locked?" for the initiatives below
        plan_months.register(budget_months_stranded)  # "would new dates strand budget lines?" likewise
        plan_months.register_plan_total(plan_total_expression)  # "what is its plan?" beside the estimate
        plan_months.register_actual_to_date(actual_to_date_expression)  # "what is spent so far?" on the list
