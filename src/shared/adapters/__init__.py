"""Small interfaces over the Workers bindings (D1, KV, Queues, WebCrypto, service bindings).

Services depend on the protocols; entry modules build the implementations from `env`.
"""
