"""Ninja schemas for registration, tokens and the current user."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from config.schemas import InputSchema


class RegisterIn(InputSchema):
    username: str = Field(min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")
    # Django's validators still apply (no common, numeric-only or username-like passwords).
    password: str = Field(min_length=8, max_length=128)
    email: str = Field(min_length=3, max_length=254, json_schema_extra={"format": "email"})


class UserOut(Schema):
    id: int
    username: str
    email: str
    is_staff: bool
    date_joined: datetime


class TokenObtainIn(InputSchema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=128)


class TokenPairOut(Schema):
    access: str
    refresh: str


class RefreshIn(InputSchema):
    refresh: str = Field(min_length=1, max_length=4096)


class VerifyIn(InputSchema):
    token: str = Field(min_length=1, max_length=4096)


class PasswordChangeIn(InputSchema):
    old_password: str = Field(min_length=1, max_length=128)
    # Django's validators still apply, as at registration.
    new_password: str = Field(min_length=8, max_length=128)


class MessageOut(Schema):
    detail: str
