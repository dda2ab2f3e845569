"""Channels group names (ASCII, under 100 characters) shared by the sender and the consumer."""

from __future__ import annotations

STAFF_GROUP = "orders.staff"


def user_group(user_id: int) -> str:
    return f"orders.user.{user_id}"


def sessions_group(user_id: int) -> str:
    """Every socket of a user, whatever it hears: told when the user's rights or sessions end."""
    return f"sessions.user.{user_id}"
