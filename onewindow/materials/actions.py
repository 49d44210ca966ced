"""Writes for materials: upload (checked, hashed, scanned, stored), attach to an application, download record.

Order of an upload (MLPS 2.0 level 3, GB/T 22239-2019 §8.1.4.5 malicious-code prevention): who may upload,
then size, then type by content, then one pass over the bytes that computes SHA-256 and streams them to
clamd, and only for a clean file the write to storage and the database row. Nothing reaches storage
before the verdict; a scanner that is configured but fails refuses the upload (fail closed).
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
import uuid
from datetime import timedelta
from typing import IO, TYPE_CHECKING, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.audit.models import Outcome
from onewindow.core.errors import RuleViolation
from onewindow.core.logging import get_logger
from onewindow.materials.clamav import ClamdError, StreamScan, configured_client
from onewindow.materials.content import (
    ALLOWED_TYPES,
    EXTENSION_ALIASES,
    FileType,
    allowed_type_labels,
    detect_file_type,
)
from onewindow.materials.models import Material
from onewindow.materials.selectors import material_for_user

if TYPE_CHECKING:
    from onewindow.applications.models import Application

logger = get_logger(__name__)

# Anyone who applies, or enters an application for someone else, may upload.
UPLOAD_PERMISSIONS = (
    Permission.APPLY,
    Permission.ACCEPT_APPLICATIONS,
    Permission.APPLY_AS_AGENT,
    Permission.HANDLE_TASKS,
)
UPLOAD_PERMISSION_NAME = "upload_material"
CHUNK_BYTES = 64 * 1024
MAX_NAME_LENGTH = 255
MAX_CODE_LENGTH = 40
FALLBACK_NAME = "material"


def _looks_like_extension(extension: str) -> bool:
    body = extension[1:]
    return 0 < len(body) <= 5 and body.isascii() and body.isalnum()


def clean_file_name(name: str, file_type: FileType) -> str:
    """A safe display name: the last path component, without control or format characters (which include
    the bidirectional overrides used to disguise ``exe.pdf``), at most 255 characters, and with an
    extension that matches the detected content."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(
        character
        for character in base
        if unicodedata.category(character)[0] != "C" and unicodedata.category(character) not in {"Zl", "Zp"}
    )
    base = base.strip().lstrip(".").strip()
    stem, extension = os.path.splitext(base)
    if extension.lower() in EXTENSION_ALIASES.get(file_type.content_type, frozenset()):
        suffix = extension
    else:
        suffix = file_type.extension
        if not _looks_like_extension(extension):
            stem = base  # "张三.身份证" keeps its whole name; "photo.exe" loses the wrong extension
    stem = stem.strip() or FALLBACK_NAME
    return stem[: MAX_NAME_LENGTH - len(suffix)] + suffix


def _require_upload_permission(user: User) -> User:
    if any(user_has_permission(user, permission) for permission in UPLOAD_PERMISSIONS):
        return user
    raise permission_denied(user, UPLOAD_PERMISSION_NAME, object_type="material")


def _refuse_too_large() -> RuleViolation:
    limit = int(settings.UPLOAD_MAX_BYTES)
    return RuleViolation(
        "material_too_large",
        f"文件过大：单个文件不能超过 {filesizeformat(limit)}（{limit} 字节）。",
        f"The file is too large: each file may be at most {limit} bytes.",
        field="file",
        status=413,
    )


def _stream(uploaded_file: UploadedFile, hasher: hashlib._Hash, scan: StreamScan | None) -> int:
    """Read the file once: hash it, send it to the scanner, count its bytes (refusing beyond the limit)."""
    size = 0
    for chunk in uploaded_file.chunks(CHUNK_BYTES):
        size += len(chunk)
        if size > settings.UPLOAD_MAX_BYTES:
            raise _refuse_too_large()
        hasher.update(chunk)
        if scan is not None:
            scan.send(chunk)
    return size


def _audit_refusal(acting_user: User, action: str, details: dict[str, object]) -> None:
    audit_append(
        action=action,
        acting_user=acting_user,
        outcome=Outcome.DENIED if action == "material.infected" else Outcome.FAILURE,
        object_type="material",
        details=details,
    )


def material_upload(*, acting_user: User, uploaded_file: UploadedFile, material_code: str = "") -> Material:
    """Check, hash, virus-scan and store one uploaded file for ``acting_user``; return the new Material.

    Refusals (RuleViolation, nothing stored): ``material_empty``, ``material_too_large`` (413),
    ``material_type_not_allowed``, ``material_code_invalid``, ``material_infected`` (422) and
    ``virus_scan_unavailable`` (503, clamd configured but unreachable or erroring). A user who may not
    apply for anyone gets PermissionDenied (audited).
    """
    _require_upload_permission(acting_user)
    material_code = (material_code or "").strip()
    if len(material_code) > MAX_CODE_LENGTH:
        raise RuleViolation(
            "material_code_invalid",
            f"材料编码不能超过 {MAX_CODE_LENGTH} 个字符。",
            f"The material code may be at most {MAX_CODE_LENGTH} characters.",
            field="material_code",
        )
    if not uploaded_file.size:
        raise RuleViolation("material_empty", "文件是空的，请重新选择。", "The file is empty.", field="file")
    if uploaded_file.size > settings.UPLOAD_MAX_BYTES:
        raise _refuse_too_large()

    file_type = detect_file_type(cast(IO[bytes], uploaded_file))
    if file_type is None or file_type not in ALLOWED_TYPES:
        labels = allowed_type_labels()
        raise RuleViolation(
            "material_type_not_allowed",
            f"不支持此文件类型：只接受 {labels} 格式的文件（按文件内容判断，不看文件名）。",
            f"This type of file is not accepted: only {labels} files are (judged by content, not by name).",
            field="file",
        )
    client_name = uploaded_file.name or ""
    name = clean_file_name(client_name, file_type)

    hasher = hashlib.sha256()
    client = configured_client()
    if client is None:
        size = _stream(uploaded_file, hasher, None)
        verdict = None
    else:
        try:
            with client.instream() as scan:
                size = _stream(uploaded_file, hasher, scan)
                verdict = scan.finish()
        except ClamdError as error:
            logger.error("material_scan_unavailable", clamd=client.address, error=str(error))
            _audit_refusal(acting_user, "material.scan_unavailable", {"name": name, "error": str(error)})
            raise RuleViolation(
                "virus_scan_unavailable",
                "病毒扫描服务暂时不可用，文件未保存，请稍后重试。",
                "The virus scanner is unavailable; the file was not stored. Please try again later.",
                field="file",
                status=503,
            ) from error
    if size == 0:
        raise RuleViolation("material_empty", "文件是空的，请重新选择。", "The file is empty.", field="file")
    sha256 = hasher.hexdigest()
    if verdict is not None and verdict.infected:
        logger.warning("material_infected", signature=verdict.signature, sha256=sha256, size=size)
        _audit_refusal(
            acting_user,
            "material.infected",
            {"name": name, "sha256": sha256, "size": size, "signature": verdict.signature},
        )
        raise RuleViolation(
            "material_infected",
            f"文件含有病毒或恶意代码（{verdict.signature}），已拒收，未保存。",
            f"The file contains a virus or malicious code ({verdict.signature}); "
            "it was refused and not stored.",
            field="file",
        )

    material = Material(
        id=uuid.uuid4(),
        uploaded_by=acting_user,
        material_code=material_code,
        original_name=name,
        content_type=file_type.content_type,
        size=size,
        sha256=sha256,
        scanned=verdict is not None,
    )
    uploaded_file.seek(0)
    material.file.save(name, uploaded_file, save=False)
    stored_name = material.file.name
    try:
        with transaction.atomic():
            material.save(force_insert=True)
            audit_append(
                action="material.uploaded",
                acting_user=acting_user,
                object_type="material",
                object_id=str(material.id),
                details={
                    "name": name,
                    "client_name": client_name[:MAX_NAME_LENGTH],
                    "content_type": file_type.content_type,
                    "size": size,
                    "sha256": sha256,
                    "scanned": material.scanned,
                    "material_code": material_code,
                },
            )
    except BaseException:
        # The row is not there, so neither may the file be (it would be unreachable and unaccounted for).
        if stored_name:
            material.file.storage.delete(stored_name)
        raise
    logger.info("material_uploaded", material_id=str(material.id), size=size, scanned=material.scanned)
    return material


def material_attach(*, acting_user: User, material: Material, application: Application) -> Material:
    """Attach the uploader's own unattached ``material`` to ``application``.

    Called by the applications actions inside their transaction (this block nests as a savepoint).
    Refusals: ``material_not_yours`` (someone else uploaded it) and ``material_already_attached`` (409).
    """
    with transaction.atomic():
        locked = Material.objects.select_for_update().get(pk=material.pk)
        if locked.uploaded_by_id != acting_user.pk:
            raise RuleViolation(
                "material_not_yours",
                "只能附上您本人上传的材料。",
                "You can only attach materials you uploaded yourself.",
                field="materials",
            )
        if locked.application_id is not None:
            raise RuleViolation(
                "material_already_attached",
                "该材料已附在另一份申请上，请重新上传。",
                "This material is already attached to an application; upload it again.",
                field="materials",
                status=409,
            )
        locked.application = application
        locked.save(update_fields=["application"])
        audit_append(
            action="material.attached",
            acting_user=acting_user,
            object_type="material",
            object_id=str(locked.id),
            details={"application": application.tracking_no, "sha256": locked.sha256},
        )
    material.application = application
    return locked


def material_download(*, acting_user: User, material_id: uuid.UUID | str) -> Material:
    """Return the material ``acting_user`` may read and record the download (personal data being read);
    Http404 (audited) when they may not."""
    material = material_for_user(acting_user, material_id)
    with transaction.atomic():
        audit_append(
            action="material.downloaded",
            acting_user=acting_user,
            object_type="material",
            object_id=str(material.id),
            details={"sha256": material.sha256},
        )
    return material


# Uploads never attached to an application are personal data nobody needs (PIPL Art. 19: keep personal
# information no longer than needed); drafts keep theirs for at least this long.
MINIMUM_UNATTACHED_DAYS = 7


def material_purge_unattached(*, acting_user: User | None, older_than_days: int) -> int:
    """Delete materials uploaded more than ``older_than_days`` ago that were never attached to an application
    (nor used as an agent's consent form); their files go after the rows are gone. Returns how many."""
    if older_than_days < MINIMUM_UNATTACHED_DAYS:
        raise RuleViolation(
            "retention_too_short",
            f"未使用的材料至少保留 {MINIMUM_UNATTACHED_DAYS} 天。",
            f"Unattached materials are kept for at least {MINIMUM_UNATTACHED_DAYS} days.",
            field="older_than_days",
        )
    from onewindow.applications.models import AgentConsent

    cutoff = timezone.now() - timedelta(days=older_than_days)
    with transaction.atomic():
        stale = list(
            Material.objects.select_for_update()
            .filter(application__isnull=True, created_at__lt=cutoff)
            .exclude(pk__in=AgentConsent.objects.filter(material__isnull=False).values("material_id"))
            .values_list("pk", "file")
        )
        Material.objects.filter(pk__in=[pk for pk, _name in stale]).delete()
        audit_append(
            action="material.purged",
            acting_user=acting_user,
            object_type="material",
            details={"count": len(stale), "older_than_days": older_than_days},
        )
        # Files are removed only once the rows are gone for good.
        names = [name for _pk, name in stale if name]
        transaction.on_commit(lambda: _delete_files(names))
    logger.info("materials_purged", count=len(stale), older_than_days=older_than_days)
    return len(stale)


def _delete_files(names: list[str]) -> None:
    storage = Material._meta.get_field("file").storage
    for name in names:
        storage.delete(name)
