"""Material pages: the download link used by the applicant's and the departments' pages."""

from __future__ import annotations

import uuid

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.http import require_safe

from onewindow.materials import actions
from onewindow.materials.responses import material_file_response


@require_safe
def material_download(request: HttpRequest, material_id: uuid.UUID) -> HttpResponseBase:
    """Stream the file to a signed-in user who may read it; 404 (audited) for anyone else."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    material = actions.material_download(acting_user=request.user, material_id=material_id)
    return material_file_response(material)
