"""Who people are (PRODUCT.md §1): the four roles, kept as Django group names, and the two sides.

Cross-cutting, so they live in the project package: the policy reads them, every app may use them.
`initiatives.choices` re-exports both, so `from initiatives.choices import Role, Side` keeps working.
"""

from django.db import models


class Side(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    IT = "it", "IT"


class Role(models.TextChoices):
    """Django group names: one per role of PRODUCT.md §1."""

    PM = "pm", "Product manager"
    EXECUTIVE = "executive", "Executive"
    FINANCE = "finance", "Finance"
    ADMIN = "admin", "Administrator"
