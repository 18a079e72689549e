"""What the gateway's handlers are given: built once per request by `gateway.app.build_app`."""

from dataclasses import dataclass

from gateway.auth import Authenticator
from shared.adapters.services import ServiceClient


@dataclass(frozen=True)
class GatewayContext:
    auth: Authenticator
    services: dict[str, ServiceClient]  # "users", "orders": the service bindings as HTTP clients
