from django.apps import AppConfig


class SplitConfig(AppConfig):
    name = "split"
    verbose_name = "Spend split"
