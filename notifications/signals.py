"""Sockets learn, after commit, that a user's sessions or rights changed, whatever changed them.

These are signals, not calls from the services, on purpose: the Django admin, `changepassword`,
a shell and `queryset.delete()` change users too, and a socket must close whichever did it.
`QuerySet.update()` sends no signal: code that deactivates or demotes users in bulk must call
`notifications.services.session_notice_send` itself (the access token's expiry still bounds
such a socket's life).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import RevokedSession, User

from .services import session_notice_send

WATCHED_FIELDS = frozenset({"is_active", "is_staff", "token_key"})


def _notify_after_commit(user_id: int, notice: dict[str, str | bool]) -> None:
    # robust: a channel layer that is down must not fail a change that committed; the
    # sockets concerned then close at their access token's expiry at the latest.
    transaction.on_commit(lambda: session_notice_send(user_id=user_id, notice=notice), robust=True)


@receiver(post_save, sender=User, dispatch_uid="notifications.user_saved")
def _user_saved(
    sender: Any, instance: User, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    if created or (update_fields is not None and not WATCHED_FIELDS & set(update_fields)):
        return  # a new user has no socket; last_login or a hash upgrade changes no right
    _notify_after_commit(
        instance.pk,
        {
            "is_active": instance.is_active,
            "is_staff": instance.is_staff,
            "token_key": instance.token_key,
        },
    )


@receiver(post_delete, sender=User, dispatch_uid="notifications.user_deleted")
def _user_deleted(sender: Any, instance: User, **kwargs: Any) -> None:
    _notify_after_commit(instance.pk, {"is_active": False})


@receiver(post_save, sender=RevokedSession, dispatch_uid="notifications.session_revoked")
def _session_revoked(sender: Any, instance: RevokedSession, created: bool, **kwargs: Any) -> None:
    if created:
        _notify_after_commit(instance.user_id, {"sid": instance.sid})
