"""The events the workers send each other over Queues: their types, as both sides name them."""

ORDER_CREATED = "order.created"  # orders -> its own consumer (confirm, webhook)
# users -> orders (cancel that user's open orders): sent by the previous release only; its
# consumer stays one release (README: "Choreography or orchestration").
USER_DELETED = "user.deleted"
