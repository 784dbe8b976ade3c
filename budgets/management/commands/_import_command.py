"""The shared body of `import_actuals` and `import_budget`: the web upload's code, run from a shell."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from budgets.services.imports import import_run


class ImportCommand(BaseCommand):
    kind = ""

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8, header row as in PRODUCT.md §4).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and summarise; save nothing.")
        parser.add_argument("--user", help="Username recorded as the author in the history (default: none).")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        if path.stat().st_size > settings.IMPORT_MAX_BYTES:
            limit = settings.IMPORT_MAX_BYTES / (1024 * 1024)
            raise CommandError(
                f"line 1, —: {path.name} is {path.stat().st_size / (1024 * 1024):.1f} MB; the limit is {limit:g} MB. "
                "Nothing was imported."
            )
        by = None
        if options.get("user"):
            by = get_user_model().objects.filter(username=options["user"]).first()
            if by is None:
                raise CommandError(f"There is no user {options['user']}.")
        report = import_run(
            kind=self.kind,
            data=path.read_bytes(),
            file_name=path.name,
            by=by,
            dry_run=options["dry_run"],
            via="command",
        )
        if report.errors:
            for error in report.errors:
                self.stderr.write(str(error))
            raise CommandError(report.message)
        self.stdout.write(f"{report.rows:,} rows read in {report.duration_ms / 1000:.1f} s.")
        self.stdout.write(self.style.SUCCESS(report.message))
