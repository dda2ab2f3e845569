"""The reference project's one app: catalog, orders and order notifications."""
