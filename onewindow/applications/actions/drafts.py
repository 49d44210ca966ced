"""Drafts: a saved, unsubmitted form, one per user and service, resumed where it was left."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.applications.actions.submit import _published
from onewindow.applications.models import Draft
from onewindow.audit.actions import audit_append

DRAFT_PERMISSIONS = (Permission.APPLY, Permission.ACCEPT_APPLICATIONS, Permission.APPLY_AS_AGENT)


def _require_applying(acting_user: User) -> None:
    if not any(user_has_permission(acting_user, permission) for permission in DRAFT_PERMISSIONS):
        raise permission_denied(acting_user, Permission.APPLY, object_type="draft")


def draft_save(
    *, acting_user: User, service_code: str, form: dict[str, Any], material_ids: Sequence[str] = ()
) -> Draft:
    """Save (or replace) the user's draft for the service; not validated until submitted."""
    _require_applying(acting_user)
    service, version = _published(service_code)
    with transaction.atomic():
        draft, created = Draft.objects.update_or_create(
            user=acting_user,
            service=service,
            defaults={
                "version": version,
                "form_data": form,
                "material_ids": [str(material_id) for material_id in material_ids],
            },
        )
        audit_append(
            action="draft.saved",
            acting_user=acting_user,
            object_type="draft",
            object_id=draft.pk,
            details={"service_code": service.code, "created": created},
        )
    return draft


def draft_delete(*, acting_user: User, service_code: str) -> None:
    """Delete the user's draft for the service (nothing happens when there is none)."""
    _require_applying(acting_user)
    with transaction.atomic():
        deleted, _ = Draft.objects.filter(user=acting_user, service__code=service_code).delete()
        if deleted:
            audit_append(
                action="draft.deleted",
                acting_user=acting_user,
                object_type="draft",
                object_id=service_code,
                details={"service_code": service_code},
            )
