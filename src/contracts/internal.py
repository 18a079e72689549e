"""The service-binding paths only the workers call (the gateway, and the users worker's
erasure workflow), and the origin they call them on.

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
# The account's erasure (users worker, contracts.erasures): close the account and cancel its
# open orders; later, strip what names the account from its orders.
CANCEL_ACCOUNT_ORDERS_PATH = "/internal/accounts/{user_id}/cancel-orders"
ERASE_ACCOUNT_ORDERS_PATH = "/internal/accounts/{user_id}/erase-orders"
