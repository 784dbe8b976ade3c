"""factory_boy factories for every model the tests build."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from budgets.models import BudgetLine, Expense, FxRate, PeriodLock
from initiatives.models import Initiative, Notification, Profile

PASSWORD = "demo-pass-123"  # every user's, for tests that sign in through the login page or the token endpoint
# A lane assessment whose answers recommend the fast lane (a customer-facing experiment).
FAST_LANE_ANSWERS = {
    "customer_facing": "yes",
    "maturity": "experiment",
    "quick_time_to_market": "yes",
    "systems_of_record": "no",
    "regulated_data": "no",
    "lifespan": "short",
}


class UserFactory(factory.django.DjangoModelFactory):
    """A user with a profile; `role` names the Django group, `side` the profile's side."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)

    @classmethod
    def _create(cls, model_class, *args, role: str = "pm", side: str = "marketing", **kwargs):
        user = super()._create(model_class, *args, **kwargs)
        Profile.objects.update_or_create(user=user, defaults={"side": side})
        # get_or_create: a transactional test flushes the groups the data migration made.
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user


class InitiativeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Initiative
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Initiative {n}")
    summary = "Grow repeat purchases through a better loyalty experience."
    owner = factory.SubFactory(UserFactory, role="pm", side="marketing")
    marketing_sponsor = factory.SubFactory(UserFactory, role="executive", side="marketing")
    it_sponsor = factory.SubFactory(UserFactory, role="executive", side="it")
    lane = "fast_lane"
    status = "draft"
    start_date = dt.date(2026, 1, 1)
    end_date = dt.date(2026, 12, 31)
    marketing_share_pct = Decimal("60.00")
    estimated_cost = Decimal("500000.00")
    health = "green"


class NotificationFactory(factory.django.DjangoModelFactory):
    """An overspend e-mail to the initiative's owner, queued (not sent yet)."""

    class Meta:
        model = Notification

    kind = "overspend"
    initiative = factory.SubFactory(InitiativeFactory)
    recipient = factory.LazyAttribute(lambda n: n.initiative.owner)
    to_address = factory.LazyAttribute(lambda n: n.recipient.email)
    subject = factory.LazyAttribute(lambda n: f"Overspend: {n.initiative.code} is over its budget")
    body = "Spent more than planned."


class BudgetLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BudgetLine

    initiative = factory.SubFactory(InitiativeFactory)
    month = dt.date(2026, 1, 1)
    category = "labor"
    amount = Decimal("1000.00")


class FxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FxRate
        django_get_or_create = ("currency", "month")

    currency = "EUR"
    month = dt.date(2026, 1, 1)
    rate = Decimal("1.10000000")


class ExpenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Expense

    initiative = factory.SubFactory(InitiativeFactory)
    incurred_on = dt.date(2026, 1, 15)
    amount = Decimal("500.00")
    currency = "USD"
    amount_reporting = factory.LazyAttribute(lambda e: e.amount)
    paid_by = "it"
    category = "software"
    vendor = "Acme Cloud"
    description = "Monthly subscription"
    source = "manual"
    external_ref = None


class PeriodLockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PeriodLock

    month = dt.date(2026, 1, 1)
    reason = "January closed"
    locked_by = factory.SubFactory(UserFactory, role="finance", side="")
