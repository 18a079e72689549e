"""The events the workers send each other over Queues: their types, as both sides name them."""

ORDER_CREATED = "order.created"  # orders -> its own consumer (confirm, webhook)
USER_DELETED = "user.deleted"  # users -> orders (cancel that user's open orders)
