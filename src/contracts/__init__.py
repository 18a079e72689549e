"""The contracts: what both sides of a service binding, and the public API, agree on.

Pydantic models that validate requests (in the gateway and again in the service) and
generate the OpenAPI document, plus the internal paths the gateway calls. Every worker
uploads this package; no worker imports another worker's package.
"""
