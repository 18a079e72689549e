"""The gateway worker: the public door in front of the users and orders workers."""
