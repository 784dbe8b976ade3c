from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    name = "scenarios"
    verbose_name = "What-if scenarios"

    def ready(self) -> None:
        from scenarios import rules

        rules.register()
