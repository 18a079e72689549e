"""Code every worker shares: HTTP helpers, errors, identity, logging, config and binding adapters."""
