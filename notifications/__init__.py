"""Order-status events: the outbox, their delivery to WebSockets, and the catch-up feed."""
