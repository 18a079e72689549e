"""What the users worker's handlers are given: built per request by `users.app.build_app`."""

from dataclasses import dataclass

from users.maintenance import Maintenance
from users.service import UsersService


@dataclass(frozen=True)
class UsersContext:
    users: UsersService
    maintenance: Maintenance
