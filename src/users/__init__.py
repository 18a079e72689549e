"""The users worker: accounts, credentials and cached profiles."""
