"""`python manage.py import_actuals FILE.csv`: import ERP actuals (PRODUCT.md §4), all or nothing."""

from ._import_command import ImportCommand


class Command(ImportCommand):
    help = (
        "Import actuals from a CSV with the header "
        "initiative_code,incurred_on,amount,currency,paid_by,category,vendor,description,external_ref. "
        "All or nothing; a document (source erp, external_ref) already imported is skipped."
    )
    kind = "actuals"
