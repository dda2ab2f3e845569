"""Admin for users and revoked sessions, and the admin's sign-in form (throttled like the API's)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError

from .models import RevokedSession, User
from .services import user_sessions_revoke_all
from .throttles import ClientIPThrottle, Throttled, login_failure_record, login_failures_check


@admin.register(User)
class ShopUserAdmin(UserAdmin):
    actions = ["sign_out_everywhere"]

    @admin.action(description="Sign out everywhere (end every session, sockets included)")
    def sign_out_everywhere(self, request: Any, queryset: Any) -> None:
        for user in queryset:
            user_sessions_revoke_all(user=user)
        self.message_user(request, f"Signed out {len(queryset)} user(s) everywhere.")


TOO_MANY_ATTEMPTS = "Too many sign-in attempts. Try again in a minute."


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    """The admin's sign-in counts on the same counters as `POST /api/token/`: every attempt per
    client address, and wrong passwords per username."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if self.request is None or not ClientIPThrottle("login").allow_request(self.request):
            raise ValidationError(TOO_MANY_ATTEMPTS, code="throttled")
        try:
            login_failures_check(username=username)
        except Throttled:
            raise ValidationError(TOO_MANY_ATTEMPTS, code="throttled") from None
        try:
            return super().clean()
        except ValidationError as exc:
            if getattr(exc, "code", None) == "invalid_login":
                login_failure_record(username=username)
            raise


admin.site.login_form = ThrottledAdminLoginForm


@admin.register(RevokedSession)
class RevokedSessionAdmin(admin.ModelAdmin):
    list_display = ("sid", "user", "revoked_at")
    search_fields = ("sid", "user__username")
    readonly_fields = ("sid", "user", "revoked_at")
