"""Materials API: ``POST /api/v1/materials`` (multipart upload) and ``GET /api/v1/materials/{id}`` (download).

Thin: authenticate, call the action, answer. Refusals come from the action as bilingual RuleViolations.
"""

from __future__ import annotations

import uuid
from typing import cast

from django.http import FileResponse, HttpRequest
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.materials import actions
from onewindow.materials.responses import material_file_response
from onewindow.materials.schemas import MaterialOut

router = Router(tags=["materials"])


@router.post("/materials", auth=api_auth, response={201: MaterialOut})
def material_upload(
    request: HttpRequest, file: File[UploadedFile], material_code: Form[str] = ""
) -> Status[MaterialOut]:
    """Upload one file (multipart field ``file``, optional ``material_code``); checked by content, hashed,
    virus-scanned when clamd is configured. Attach it to an application by its ``id``."""
    material = actions.material_upload(
        acting_user=cast(User, request.user), uploaded_file=file, material_code=material_code
    )
    return Status(
        201,
        MaterialOut(
            id=material.id,
            sha256=material.sha256,
            size=material.size,
            content_type=material.content_type,
            name=material.original_name,
            material_code=material.material_code,
        ),
    )


@router.get("/materials/{material_id}", auth=api_auth)
def material_download(request: HttpRequest, material_id: uuid.UUID) -> FileResponse:
    """The file itself, as an attachment, if the caller may read it (404 otherwise)."""
    material = actions.material_download(acting_user=cast(User, request.user), material_id=material_id)
    return material_file_response(material)
