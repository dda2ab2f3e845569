"""factory_boy factories for users."""

from __future__ import annotations

from typing import Any, cast

import factory

from accounts.models import User

PASSWORD = "Corr3ct-Horse-Battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"customer{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


def new_user(**fields: Any) -> User:
    """A saved user whose password is PASSWORD (typed, unlike the factory call)."""
    return cast(User, UserFactory(**fields))
