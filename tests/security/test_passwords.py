"""Django's password validators guard every password set through a form (admin, password change)."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Tr0ub4dor&3", "at least 12 characters"),
        ("password1234", "too common"),
        ("739184620571", "entirely numeric"),
        ("olivia.bennett", "too similar"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(db, password, reason):
    user = UserFactory(username="olivia.bennett", first_name="Olivia", last_name="Bennett")
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    assert any(reason in message for message in refused.value.messages)


def test_a_long_passphrase_is_accepted(db):
    validate_password("correct horse battery staple", UserFactory(username="olivia.bennett"))
