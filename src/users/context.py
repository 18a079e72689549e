"""What the users worker's handlers are given: built per event by `users.app.build_context`."""

from dataclasses import dataclass

from shared.maintenance import Maintenance
from users.erasure import ErasureService
from users.service import UsersService


@dataclass(frozen=True)
class UsersContext:
    users: UsersService
    erasures: ErasureService
    maintenance: Maintenance
