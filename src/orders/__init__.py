"""The orders worker: orders, idempotency and the asynchronous order pipeline."""
