"""The initiative rules the database itself enforces, proven by bypassing forms."""

import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction

from initiatives.models import Initiative
from initiatives.services import initiative_codes_allocate
from tests.factories import InitiativeFactory

pytestmark = pytest.mark.django_db


def test_role_groups_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {"pm", "executive", "finance", "admin"}


def test_codes_are_sequential_and_never_reused_after_delete():
    first = InitiativeFactory()
    second = InitiativeFactory()
    assert (first.code, second.code) == ("INI-0001", "INI-0002")
    second.delete()
    assert InitiativeFactory().code == "INI-0003"


def test_code_allocation_reserves_blocks():
    assert initiative_codes_allocate(count=3) == ["INI-0001", "INI-0002", "INI-0003"]
    assert InitiativeFactory().code == "INI-0004"


def test_code_is_unique_in_the_database():
    first = InitiativeFactory()
    other = InitiativeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Initiative.objects.filter(pk=other.pk).update(code=first.code)


@pytest.mark.parametrize("share", [Decimal("150"), Decimal("-0.01"), Decimal("100.01")])
def test_share_outside_0_100_is_refused_by_the_database(share):
    InitiativeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Initiative.objects.update(marketing_share_pct=share)


@pytest.mark.parametrize("share", [Decimal("0"), Decimal("100"), Decimal("62.50")])
def test_share_bounds_are_allowed(share):
    initiative = InitiativeFactory()
    Initiative.objects.filter(pk=initiative.pk).update(marketing_share_pct=share)
    initiative.refresh_from_db()
    assert initiative.marketing_share_pct == share


def test_end_before_start_is_refused_by_the_database():
    initiative = InitiativeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Initiative.objects.filter(pk=initiative.pk).update(end_date=initiative.start_date.replace(year=2025))


@pytest.mark.parametrize("field, value", [("lane", "slow_lane"), ("status", "pending"), ("health", "blue")])
def test_unknown_choices_are_refused_by_the_database(field, value):
    initiative = InitiativeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Initiative.objects.filter(pk=initiative.pk).update(**{field: value})


def test_changes_are_kept_in_history_with_before_and_after():
    initiative = InitiativeFactory(marketing_share_pct=Decimal("60.00"))
    initiative.marketing_share_pct = Decimal("40.00")
    initiative.save()
    newest, older = initiative.history.all()[:2]
    delta = newest.diff_against(older)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [
        ("marketing_share_pct", Decimal("60.00"), Decimal("40.00"))
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creation_never_draws_the_same_code():
    InitiativeFactory()  # creates the users the threads reuse
    template = Initiative.objects.get()
    codes: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                created = Initiative.objects.create(
                    title="Concurrent",
                    summary="Race",
                    owner=template.owner,
                    marketing_sponsor=template.marketing_sponsor,
                    it_sponsor=template.it_sponsor,
                    lane="fast_lane",
                    start_date=template.start_date,
                    end_date=template.end_date,
                )
            codes.append(created.code)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(codes) == [f"INI-{n:04d}" for n in range(2, 10)]
