"""App configurations of the project package (imported while the app registry loads: no models here)."""

from django.contrib.admin.apps import AdminConfig


class PortfolioAdminConfig(AdminConfig):
    """`django.contrib.admin` with `portfolio.admin_site.PortfolioAdminSite` as `admin.site`."""

    default_site = "portfolio.admin_site.PortfolioAdminSite"

    def ready(self):
        super().ready()  # every app's admin module is registered now
        from portfolio import admin_accounts  # it imports models: only once apps are ready

        admin_accounts.register()
