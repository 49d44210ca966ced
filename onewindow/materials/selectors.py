"""Reads of materials that check access. A file nobody may read is answered "not found", so its existence is
not revealed (the refusal is still audited)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied
from onewindow.materials.models import Material

if TYPE_CHECKING:
    from onewindow.applications.models import Application

READ_PERMISSION = "read_material"


def _application_readable(user: User, application: Application) -> bool:
    # Imported here: the applications app builds on materials (it attaches them), not the other way round.
    from onewindow.applications.selectors import application_readable

    return application_readable(user, application)


def material_readable(user: User | AnonymousUser, material: Material) -> bool:
    """The uploader reads a material while it is unattached; once attached to an application, whoever
    may read that application (its applicant, their agent, the departments involved) reads it."""
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
        return False
    if material.application_id is None:
        return material.uploaded_by_id == user.pk
    return _application_readable(user, material.application)  # type: ignore[arg-type]


def material_for_user(user: User | AnonymousUser, material_id: uuid.UUID | str) -> Material:
    """The material if ``user`` may read it; otherwise the refusal is audited and Http404 raised."""
    material: Material | None = None
    try:
        material_uuid = material_id if isinstance(material_id, uuid.UUID) else uuid.UUID(str(material_id))
    except ValueError:
        material_uuid = None
    if material_uuid is not None:
        material = (
            Material.objects.select_related("application", "uploaded_by").filter(pk=material_uuid).first()
        )
    if material is not None and material_readable(user, material):
        return material
    permission_denied(user, READ_PERMISSION, object_type="material", object_id=str(material_id)[:100])
    raise Http404("material not found")
