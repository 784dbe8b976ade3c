from django.apps import AppConfig


class InitiativesConfig(AppConfig):
    name = "initiatives"
    verbose_name = "Initiatives"

    def ready(self) -> None:
        from . import rules

        rules.register()  # the initiative and change proposal rules, built from the workflow table
