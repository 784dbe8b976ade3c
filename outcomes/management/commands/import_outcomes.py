"""`python manage.py import_outcomes FILE.csv --user USERNAME`: KPI measurements, all or nothing."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from outcomes.imports import COLUMNS, outcomes_import


class Command(BaseCommand):
    help = (
        f"Import outcome measurements from a CSV with the header {','.join(COLUMNS)} (measured_on as YYYY-MM-DD), "
        "as the project manager who owns the initiatives. A (KPI, day) already stored is corrected; the same "
        "file again adds nothing. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8, header row as in PRODUCT.md §3b).")
        parser.add_argument("--user", required=True, help="The project manager importing (the initiatives' owner).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and summarise; save nothing.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        by = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if by is None:
            raise CommandError(f"There is no user {options['user']}.")
        try:
            report = outcomes_import(data=path.read_bytes(), file_name=path.name, by=by, dry_run=options["dry_run"])
        except PermissionDenied as error:
            raise CommandError(str(error)) from None
        if report.errors:
            for error in report.errors:
                self.stderr.write(str(error))
            raise CommandError(report.message)
        self.stdout.write(f"{report.rows:,} rows read in {report.duration_ms / 1000:.1f} s.")
        self.stdout.write(self.style.SUCCESS(report.message))
