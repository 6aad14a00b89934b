"""Test factories for accounts (factory_boy): users, created as `create_user` creates them
(address lower-cased, password hashed), all with the same known password.

    UserFactory.create(hq_admin=True)
    UserFactory.create(email="coord.paris@equipe.test", coordinator=True, zones=["75"])
"""

from __future__ import annotations

from typing import Any

import factory

from essaim.accounts.models import Role, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    class Params:
        hq_admin = factory.Trait(role=Role.HQ_ADMIN)
        hq = factory.Trait(role=Role.HQ_STAFF)
        coordinator = factory.Trait(role=Role.COORDINATOR)

    email = factory.Sequence(lambda n: f"utilisateur{n}@equipe.test")
    password = PASSWORD
    role = Role.VOLUNTEER
    zones = factory.LazyFunction(list)
    full_name = factory.LazyAttribute(lambda o: o.email.split("@")[0])

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        # Through the manager, as every account is made: it normalizes and hashes.
        return User.objects.create_user(*args, **kwargs)
