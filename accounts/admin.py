"""Admin for users and revoked sessions."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import RevokedSession, User

admin.site.register(User, UserAdmin)


@admin.register(RevokedSession)
class RevokedSessionAdmin(admin.ModelAdmin):
    list_display = ("sid", "user", "revoked_at")
    search_fields = ("sid", "user__username")
    readonly_fields = ("sid", "user", "revoked_at")
