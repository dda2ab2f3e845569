"""Sockets learn, after commit, that a user's sessions or rights changed, whatever changed them.

These are signals, not calls from the services, on purpose: the Django admin, `changepassword`,
a shell and `queryset.delete()` change users too, and a socket must close whichever did it.
`QuerySet.update()` sends no signal: code that deactivates or demotes users in bulk must call
`notifications.services.session_notice_record` itself (the access token's expiry still bounds
such a socket's life).

Each notice is written in the change's own transaction (`SessionNotice`) and sent after commit:
if the send is lost, the web processes read the row within a second.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import RevokedSession, User

from .services import session_notice_record

WATCHED_FIELDS = frozenset({"is_active", "is_staff", "token_key"})


@receiver(post_save, sender=User, dispatch_uid="notifications.user_saved")
def _user_saved(
    sender: Any, instance: User, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    if created or (update_fields is not None and not WATCHED_FIELDS & set(update_fields)):
        return  # a new user has no socket; last_login or a hash upgrade changes no right
    session_notice_record(
        user_id=instance.pk,
        notice={
            "is_active": instance.is_active,
            "is_staff": instance.is_staff,
            "token_key": instance.token_key,
        },
    )


@receiver(post_delete, sender=User, dispatch_uid="notifications.user_deleted")
def _user_deleted(sender: Any, instance: User, **kwargs: Any) -> None:
    session_notice_record(user_id=instance.pk, notice={"is_active": False})


@receiver(post_save, sender=RevokedSession, dispatch_uid="notifications.session_revoked")
def _session_revoked(sender: Any, instance: RevokedSession, created: bool, **kwargs: Any) -> None:
    if created:
        session_notice_record(user_id=instance.user_id, notice={"sid": instance.sid})
