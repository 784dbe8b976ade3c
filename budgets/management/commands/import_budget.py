"""`python manage.py import_budget FILE.csv`: import budget lines (PRODUCT.md §4), all or nothing."""

from ._import_command import ImportCommand


class Command(ImportCommand):
    help = (
        "Import budget lines from a CSV with the header initiative_code,month,category,amount "
        "(month as YYYY-MM). Each row sets the amount of that initiative, month and category. All or nothing."
    )
    kind = "budget"
