"""The service-binding paths only the gateway calls, and the origin it calls them on.

A service binding's URL never leaves Cloudflare; `.invalid` (RFC 2606) makes that plain.
"""

INTERNAL_ORIGIN = "https://internal.invalid"
HEALTH_PATH = "/internal/health"
LOGIN_PATH = "/internal/auth/login"
REFRESH_PATH = "/internal/auth/refresh"
# The gateway closes a deleted account in the orders service before it answers the DELETE.
CLOSE_ACCOUNT_PATH = "/internal/accounts/{user_id}/close"
# The gateway's alert evaluation counts the dead letters waiting (contracts.alerts.DeadLettersWaiting).
DEAD_LETTERS_WAITING_PATH = "/internal/dead-letters/waiting"
