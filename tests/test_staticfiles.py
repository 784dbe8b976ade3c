"""Front-end files from npm packages (portfolio/staticfiles.py): served by the app, only those the pages use."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

from portfolio.staticfiles import NpmPackageFinder

ECHARTS = "vendor/echarts/echarts.min.js"


def test_echarts_comes_from_the_installed_npm_package():
    found = finders.find(ECHARTS)

    assert found is not None and found.endswith("node_modules/echarts/dist/echarts.min.js")
    with open(found, encoding="utf-8") as script:
        assert 'version="5.6.0"' in script.read()[-200_000:]  # the version package.json pins


def test_only_the_declared_files_are_listed_for_collectstatic():
    listed = sorted(f"{storage.prefix}/{path}" for path, storage in NpmPackageFinder().list([]))

    assert listed == ["vendor/echarts/LICENSE", "vendor/echarts/NOTICE", ECHARTS]


def test_collectstatic_copies_the_declared_files_and_not_the_whole_package(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    call_command("collectstatic", "--noinput", verbosity=0)

    vendor = tmp_path / "vendor" / "echarts"
    assert sorted(p.name for p in vendor.iterdir()) == ["LICENSE", "NOTICE", "echarts.min.js"]
    assert not list(vendor.rglob("*.map")) and not (vendor / "dist").exists()


def test_a_missing_package_is_reported_by_the_system_checks(settings, tmp_path):
    settings.NPM_MODULES_DIR = tmp_path  # as if `npm ci` had not run

    errors = NpmPackageFinder().check()

    assert [error.id for error in errors] == ["portfolio.E001"] * 3
    assert "make install" in errors[0].hint
    assert NpmPackageFinder().find(ECHARTS) == []


@pytest.mark.django_db
def test_the_dashboard_script_is_served_by_the_app_itself(client, finance, settings):
    settings.WHITENOISE_USE_FINDERS = True  # WhiteNoise as under `make run` (production serves STATIC_ROOT)
    client.force_login(finance)

    response = client.get(f"/static/{ECHARTS}")

    assert response.status_code == 200
    assert b"echarts" in b"".join(response.streaming_content if response.streaming else [response.content])


@pytest.mark.django_db
def test_a_missing_static_file_is_a_404_not_a_500(client, settings):
    # Found while quieting `make run`'s log: a missing file was a TypeError in WhiteNoise (issue 14).
    settings.WHITENOISE_USE_FINDERS = True

    assert finders.find("css/no-such-file.css") is None
    assert client.get("/static/css/no-such-file.css").status_code == 404
