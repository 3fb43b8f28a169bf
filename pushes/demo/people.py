"""The demo's people: the release engineer, the named engineers and the authors of trunk."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher, get_hasher, make_password

from pushes.choices import Role
from pushes.models import Engineer


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    areas: tuple[str, ...] = ()  # where they commit; empty: not an author

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


REL = Person("rel", "Rosa", "Ellis")
AUTHORS = (
    Person("alice", "Alice", "Chen", ("checkout", "web")),
    Person("bob", "Bob", "Martin", ("search",)),
    Person("carol", "Carol", "Diaz", ("checkout", "orders")),
    Person("priya", "Priya", "Raman", ("search", "catalog")),
    Person("dmitri", "Dmitri", "Volkov", ("accounts", "ops")),
    Person("kenji", "Kenji", "Watanabe", ("catalog",)),
    Person("fatima", "Fatima", "Okafor", ("orders", "checkout")),
    Person("lucas", "Lucas", "Oliveira", ("web", "catalog")),
    Person("sofia", "Sofia", "Rossi", ("web", "checkout")),
    Person("ahmed", "Ahmed", "Hassan", ("accounts",)),
    Person("emily", "Emily", "Clarke", ("search", "ops")),
    Person("mateo", "Mateo", "García", ("catalog", "orders")),
    Person("hannah", "Hannah", "Becker", ("orders",)),
    Person("wei", "Wei", "Zhang", ("search",)),
    Person("olivia", "Olivia", "Johnson", ("web",)),
    Person("ravi", "Ravi", "Patel", ("checkout",)),
    Person("grace", "Grace", "Kim", ("accounts", "web")),
    Person("noah", "Noah", "Williams", ("ops", "catalog")),
    Person("ingrid", "Ingrid", "Larsen", ("ops", "search")),
    Person("tomas", "Tomás", "Novák", ("orders", "checkout")),
)
PEOPLE = (REL, *AUTHORS)

# Demo passwords equal usernames, so the hash guards nothing: a cheap one keeps the demo fast,
# and Django re-hashes at full strength on the first login.
_DEMO_HASH_ITERATIONS = 1000


def _demo_password(username: str) -> str:
    hasher = get_hasher()
    if isinstance(hasher, PBKDF2PasswordHasher):
        return hasher.encode(username, hasher.salt(), iterations=_DEMO_HASH_ITERATIONS)
    return make_password(username, hasher=hasher)


def people_create() -> dict[str, Engineer]:
    """Users and engineers for everyone in the demo, keyed by username; existing ones are kept."""
    User = get_user_model()
    engineers = {}
    for person in PEOPLE:
        is_rel = person is REL
        user, created = User.objects.get_or_create(
            username=person.username,
            defaults={
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": person.email,
                "is_staff": is_rel,
                "is_superuser": is_rel,
                "password": _demo_password(person.username),
            },
        )
        engineer, _ = Engineer.objects.get_or_create(
            user=user,
            defaults={
                "email": user.email,
                "role": Role.RELEASE_ENGINEER if is_rel else Role.ENGINEER,
                "chat_id": f"U0{person.username.upper()}",
            },
        )
        engineers[person.username] = engineer
    return engineers


def people_delete() -> None:
    """Remove the demo's users (their engineers, karma and history go with them)."""
    get_user_model().objects.filter(username__in=[p.username for p in PEOPLE]).delete()
