"""Ninja schemas for registration, tokens and the current user."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field


class RegisterIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=128)
    email: str = Field(min_length=3, max_length=254)


class UserOut(Schema):
    id: int
    username: str
    email: str
    is_staff: bool
    date_joined: datetime


class TokenObtainIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=128)


class TokenPairOut(Schema):
    access: str
    refresh: str


class RefreshIn(Schema):
    refresh: str = Field(min_length=1, max_length=4096)


class VerifyIn(Schema):
    token: str = Field(min_length=1, max_length=4096)


class MessageOut(Schema):
    detail: str
