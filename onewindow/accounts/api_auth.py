"""API authentication: ``Authorization: Bearer <token>`` (tokens stored as SHA-256), or the web session."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from onewindow.accounts.models import ApiToken, User

LAST_USED_PRECISION = timedelta(seconds=60)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def user_for_token(token: str) -> User | None:
    """The active user owning an unexpired, unrevoked token, or None."""
    now = timezone.now()
    found = (
        ApiToken.objects.select_related("user")
        .filter(
            token_hash=token_hash(token), revoked_at__isnull=True, expires_at__gt=now, user__is_active=True
        )
        .first()
    )
    if found is None:
        return None
    # "Last used" is for people reviewing tokens, to the minute: writing it on every call would turn each
    # read into a write (and, on SQLite, a wait for the single writer).
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
    return found.user


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token)
        if user is not None:
            request.user = user
            request.api_token = token  # type: ignore[attr-defined]
        return user


class VerifiedSessionAuth(SessionAuth):
    """The browser session; staff sessions count only after the TOTP step."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        if getattr(user, "kind", None) == "staff" and not user.is_verified():
            return None
        return user


# Endpoints that need a signed-in caller use ``auth=api_auth``.
bearer_auth = BearerAuth()
api_auth = [bearer_auth, VerifiedSessionAuth()]
