"""Writes to initiatives go through these services (HackSoft style: keyword-only, atomic)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from .models import CodeSequence, format_initiative_code

INITIATIVE_SEQUENCE = "initiative"


@transaction.atomic
def initiative_codes_allocate(*, count: int = 1) -> list[str]:
    """Draw `count` consecutive, never-used initiative codes.

    The sequence row is locked for the rest of the caller's transaction, so
    concurrent creators queue on it and each gets distinct numbers; numbers of
    deleted initiatives are never handed out again.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    sequence, _ = CodeSequence.objects.select_for_update().get_or_create(name=INITIATIVE_SEQUENCE)
    CodeSequence.objects.filter(pk=sequence.pk).update(last_value=F("last_value") + count)
    first = sequence.last_value + 1
    return [format_initiative_code(number) for number in range(first, first + count)]
