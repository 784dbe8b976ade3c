"""The demo people: one login per role and side, their password, and making sure they exist.

`demo_users_ensure` runs on every `seed_demo` (idempotent); `demo_logins_table` is what
`seed_demo` and `demo_logins` print.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import transaction

from initiatives.choices import Role, Side
from initiatives.models import Profile

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed on every run: these are demo logins
# One hash for all demo users and every run: password hashing is slow on
# purpose, and `make run` calls seed_demo each time. A fixed salt (long
# enough that Django never asks to re-hash) makes the hash comparable, so an
# unchanged password is not rewritten. Acceptable only because these
# passwords are printed in the clear anyway.
DEMO_PASSWORD_SALT = "rightspeedportfoliodemologins"  # noqa: S105 - a salt, not a secret
# The finance login: who enters the budgets and imports the actuals in the seeded history.
FINANCE_USERNAME = "finance"


@dataclass(frozen=True)
class DemoUser:
    """One demo login: who they are, their role (Django group) and side."""

    username: str
    first_name: str
    last_name: str
    role: str
    side: str
    title: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("pm.marketing", "Olivia", "Bennett", Role.PM, Side.MARKETING, "Product Manager, Digital Marketing"),
    DemoUser("pm.marketing2", "Lucas", "Fernandez", Role.PM, Side.MARKETING, "Product Manager, E-commerce"),
    DemoUser("pm.marketing3", "Priya", "Natarajan", Role.PM, Side.MARKETING, "Product Manager, CRM & Loyalty"),
    DemoUser("pm.marketing4", "Hannah", "Kowalski", Role.PM, Side.MARKETING, "Product Manager, Brand Experience"),
    DemoUser("pm.it", "Daniel", "Okafor", Role.PM, Side.IT, "Product Manager, Enterprise Applications"),
    DemoUser("pm.it2", "Sofia", "Lindqvist", Role.PM, Side.IT, "Product Manager, Data Platform"),
    DemoUser("pm.it3", "Marcus", "Chen", Role.PM, Side.IT, "Product Manager, Integration"),
    DemoUser("pm.it4", "Amara", "Mensah", Role.PM, Side.IT, "Product Manager, Cloud Infrastructure"),
    DemoUser("cmo", "Victoria", "Hale", Role.EXECUTIVE, Side.MARKETING, "Chief Marketing Officer"),
    DemoUser("vp.growth", "Ethan", "Morales", Role.EXECUTIVE, Side.MARKETING, "VP Growth Marketing"),
    DemoUser("vp.brand", "Chloe", "Dubois", Role.EXECUTIVE, Side.MARKETING, "VP Brand & Communications"),
    DemoUser("cio", "Robert", "Nakamura", Role.EXECUTIVE, Side.IT, "Chief Information Officer"),
    DemoUser("cto", "Elena", "Petrova", Role.EXECUTIVE, Side.IT, "Chief Technology Officer"),
    DemoUser("vp.platforms", "James", "O'Connor", Role.EXECUTIVE, Side.IT, "VP Enterprise Platforms"),
    DemoUser("finance", "Grace", "Whitfield", Role.FINANCE, "", "Finance Business Partner"),
    DemoUser("admin", "Samir", "Patel", Role.ADMIN, "", "Portfolio Administrator"),
)


def demo_logins_table() -> list[str]:
    """The demo logins as the lines of a table: username, password, role, side, and who they are."""
    header = f"  {'username':<16}{'password':<17}{'role':<11}{'side':<11}name"
    lines = [header, "  " + "-" * (len(header) + 30)]
    for spec in DEMO_USERS:
        lines.append(
            f"  {spec.username:<16}{DEMO_PASSWORD:<17}{spec.role:<11}{spec.side or '—':<11}"
            f"{spec.first_name} {spec.last_name}, {spec.title}"
        )
    return lines


@transaction.atomic
def demo_users_ensure() -> dict[str, User]:
    """Create or bring up to date every demo user: name, password, group, profile side; by username."""
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in Role.values}
    password_hash = make_password(DEMO_PASSWORD, salt=DEMO_PASSWORD_SALT)
    users = {}
    for spec in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=spec.username)
        wanted = _demo_user_fields(spec, password_hash)
        changed = [name for name, value in wanted.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, wanted[name])
        if changed:
            user.save(update_fields=changed)
        Profile.objects.update_or_create(user=user, defaults={"side": spec.side, "title": spec.title})
        user.groups.set([groups[spec.role]])
        users[spec.username] = user
    return users


def _demo_user_fields(spec: DemoUser, password_hash: str) -> dict[str, Any]:
    is_admin = spec.role == Role.ADMIN
    return {
        "first_name": spec.first_name,
        "last_name": spec.last_name,
        "email": f"{spec.username}@example.com",
        "password": password_hash,
        "is_active": True,
        "is_staff": is_admin,
        "is_superuser": is_admin,
    }
