"""Notices the back office's pages show about the catalog: sharing requests waiting for the user's
department (the inbox) and overdue catalog items (the supervision page)."""

from __future__ import annotations

from typing import Any

from django import template

from onewindow.accounts.models import User
from onewindow.catalog.selectors_sharing import pending_received_count
from onewindow.catalog.views_sharing import supervision_summary

register = template.Library()


@register.inclusion_tag("catalog/partials/inbox_notice.html", takes_context=True)
def catalog_inbox_notice(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    return {"pending": pending_received_count(user) if isinstance(user, User) else 0}


@register.inclusion_tag("catalog/partials/supervision_notice.html", takes_context=True)
def catalog_supervision_notice(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    return {"summary": supervision_summary(user) if isinstance(user, User) else None}
