"""Front-end files from npm packages, served by the app itself like every other static file.

`make install` runs `npm ci` (package.json, package-lock.json), which puts the packages
in node_modules/ at install time; nothing is fetched from the internet at run time.
`NPM_STATIC_FILES` (settings) names the few files the pages use, each under the URL path
it is served at, so collectstatic copies those files and not a package's whole tree
(ECharts alone ships 55 MB of sources, maps and variants).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

MISSING_HINT = "Run `make install` (it runs `npm ci`) to install the front-end packages of package.json."


class NpmPackageFinder(BaseFinder):
    """Finds the files of `settings.NPM_STATIC_FILES`: {served path: path inside node_modules}."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        root = Path(settings.NPM_MODULES_DIR)
        self.files = {served: root / source for served, source in settings.NPM_STATIC_FILES.items()}

    def check(self, **kwargs) -> list[Error]:
        return [
            Error(f"{source} is missing, so /static/{served} cannot be served.", hint=MISSING_HINT, id="portfolio.E001")
            for served, source in self.files.items()
            if not source.is_file()
        ]

    def find(self, path: str, find_all: bool = False, **kwargs) -> str | list[str]:
        source = self.files.get(path)
        found = str(source) if source is not None and source.is_file() else None
        if find_all:
            return [found] if found else []
        # Nothing found is [] as with Django's own finders: `finders.find` would turn a None into
        # [None], a "match" that made a missing static file a 500 instead of a 404.
        return found or []

    def list(self, ignore_patterns) -> Iterator[tuple[str, FileSystemStorage]]:
        for served, source in self.files.items():
            if not source.is_file():
                continue
            storage = FileSystemStorage(location=source.parent)
            storage.prefix = str(Path(served).parent)  # collectstatic and WhiteNoise serve it under this prefix
            yield source.name, storage
