from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    name = "budgets"
    verbose_name = "Budgets and actuals"

    def ready(self) -> None:
        from budgets.services.locks import locked_months_for_initiatives
        from portfolio import periods

        periods.register(locked_months_for_initiatives)  # "is this month locked?" for the initiatives below
