"""Dual sign-off under concurrency: both sponsors approving at the same instant (PostgreSQL row locks)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from initiatives import services
from initiatives.choices import Action, Status
from initiatives.models import Initiative, InitiativeTransition


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_both_sponsors_approving_at_once_make_exactly_one_transition_to_approved(
    pm, filing, executive_marketing, executive_it
):
    initiative = services.initiative_create(by=pm, **filing)
    services.initiative_submit(initiative=initiative, by=pm)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def approve(sponsor) -> None:
        try:
            # A fresh copy per thread, read before the race: both see `submitted`, nobody signed.
            stale = Initiative.objects.get(pk=initiative.pk)
            barrier.wait()
            services.initiative_approve(initiative=stale, by=sponsor)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    for _ in range(5):  # several rounds to give the race every chance
        threads = [threading.Thread(target=approve, args=(s,)) for s in (executive_marketing, executive_it)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        initiative.refresh_from_db()
        assert initiative.status == Status.APPROVED
        assert initiative.marketing_approved_at and initiative.it_approved_at
        approvals = InitiativeTransition.objects.filter(initiative=initiative, action=Action.APPROVE)
        assert approvals.count() == 2
        assert approvals.filter(to_status=Status.APPROVED).count() == 1
        assert approvals.filter(to_status=Status.SUBMITTED).count() == 1
        # Back to a fresh submission for the next round.
        InitiativeTransition.objects.filter(initiative=initiative, action=Action.APPROVE).delete()
        Initiative.objects.filter(pk=initiative.pk).update(
            status=Status.SUBMITTED, marketing_approved_at=None, it_approved_at=None
        )
