"""Ninja schemas for registration, tokens and the current user."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field

from common.schemas import InputSchema


class RegisterIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "alice",
                    "password": "correct-horse-battery",
                    "email": "alice@example.com",
                }
            ]
        }
    )

    username: str = Field(min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")
    # Django's validators still apply (no common, numeric-only or username-like passwords).
    password: str = Field(min_length=8, max_length=128)
    email: str = Field(min_length=3, max_length=254, json_schema_extra={"format": "email"})


class UserOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "username": "alice",
                    "email": "alice@example.com",
                    "is_staff": False,
                    "date_joined": "2026-03-14T09:26:53Z",
                }
            ]
        }
    )

    id: int
    username: str
    email: str
    is_staff: bool
    date_joined: datetime


class TokenObtainIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "alice", "password": "correct-horse-battery"}]}
    )

    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=128)


class TokenPairOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access": "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJl",
                    "refresh": "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl",
                }
            ]
        }
    )

    access: str
    refresh: str


class RefreshIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"refresh": "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl"}
            ]
        }
    )

    refresh: str = Field(min_length=1, max_length=4096)


class VerifyIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"token": "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJl"}
            ]
        }
    )

    token: str = Field(min_length=1, max_length=4096)


class PasswordChangeIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"old_password": "correct-horse-battery", "new_password": "staple-tower-lantern"}
            ]
        }
    )

    old_password: str = Field(min_length=1, max_length=128)
    # Django's validators still apply, as at registration.
    new_password: str = Field(min_length=8, max_length=128)


class MessageOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"detail": "Signed out."}]})

    detail: str
