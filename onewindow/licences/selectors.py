"""Reads of the licence register: public verification (anyone), the issuing department's lists, and what the
holder's wallet needs (the PDF, the signed JSON, the verification link).

Verification answers the same :class:`Verification` for a number, an uploaded PDF or an uploaded signed
JSON (docs/licences.md, "Verification"). ``valid`` is true only when the signature checks out against the
platform's seals *and* the licence is neither revoked nor expired (Beijing date, computed now). A licence
signed by a seal that was later revoked no longer verifies (docs/signatures.md: a revoked seal's signatures
are invalid; a B-B PDF carries no trusted time to tell earlier signatures apart); the department re-issues.
The answer shows the licence's public particulars only once the licence is identified from the register
(by number) or the upload is proven authentic; the holder's ID number and a person's name are masked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import (
    permission_denied,
    require_permission,
    user_has_permission,
    user_roles,
)
from onewindow.accounts.roles import ROLE_PERMISSIONS, Permission
from onewindow.applications.tracking import china_date
from onewindow.core.errors import RuleViolation
from onewindow.core.validators import mask_id_number
from onewindow.crypto.sm2 import DEFAULT_SIGNER_ID, MAX_SIGNER_ID_SIZE
from onewindow.crypto.sm3 import sm3_hex
from onewindow.licences.models import HolderKind, Licence, LicenceStatus, RevocationReason
from onewindow.licences.pdf import PDF_ALGORITHM, pdf_signature_check
from onewindow.licences.signed import (
    SIGNATURE_ALGORITHM,
    SignedJsonError,
    licence_canonical,
    signed_document,
    signed_document_parse,
)
from onewindow.seals.models import Seal, SealStatus
from onewindow.seals.selectors import (
    authority_public,
    seal_by_certificate_serial,
    seal_by_key_fingerprint,
    seal_verify,
)

NUMBER_MAX_LENGTH = 64

# Why an answer is not valid: code → (Chinese, English).
REASONS: dict[str, tuple[str, str]] = {
    "revoked": ("该证照已注销。", "This licence has been revoked."),
    "expired": ("该证照已过有效期。", "This licence has expired."),
    "not_signed": (
        "该证照签发时未加电子签名，无法核验。",
        "This licence was recorded without an electronic signature and cannot be verified.",
    ),
    "record_changed": (
        "证照登记信息与签名内容不一致。",
        "The register's record of this licence does not match what was signed.",
    ),
    "signature_invalid": (
        "签名无效：证照内容在签名后被改动过，或不是本平台签发。",
        "The signature is not valid: the licence was changed after signing, or this platform did not "
        "sign it.",
    ),
    "seal_revoked": (
        "签发该证照的电子印章已注销，其签名不再有效，请向颁发机构申请换发。",
        "The seal that signed this licence has been revoked, so its signature is no longer valid; "
        "ask the issuing authority for a new licence.",
    ),
    "unknown_key": (
        "签名所用的密钥不属于本平台的任何电子印章。",
        "The signing key is not one of this platform's electronic seals.",
    ),
    "not_in_register": ("本平台未签发该证照。", "This platform did not issue this licence."),
    "algorithm_unsupported": ("不支持的签名算法。", "Unsupported signature algorithm."),
    "digest_mismatch": (
        "摘要不符：证照内容在签名后被改动过。",
        "The digest does not match: the licence was changed after signing.",
    ),
    "pdf_unreadable": ("文件无法作为 PDF 读取。", "The file cannot be read as a PDF."),
    "pdf_unsigned": ("该 PDF 没有电子签名。", "The PDF carries no electronic signature."),
    "pdf_several_signatures": (
        "该 PDF 带有多个签名，不是本平台签发的原件。",
        "The PDF carries more than one signature: it is not the file the platform issued.",
    ),
    "pdf_modified": ("该 PDF 在签名后被改动过。", "The PDF was changed after it was signed."),
    "pdf_untrusted": (
        "该 PDF 的签名证书不是本平台的电子印章证书。",
        "The PDF was not signed with a seal certificate of this platform.",
    ),
    "pdf_not_issued": (
        "该 PDF 不是本平台签发的证照文件。",
        "This PDF is not a licence file the platform issued.",
    ),
}


@dataclass(frozen=True)
class Verification:
    """The answer of every verification (page, API). Licence fields are None unless the licence was
    identified; ``reason_code`` says why ``valid`` is false."""

    valid: bool
    status: str | None = None
    number: str | None = None
    licence_name: str | None = None
    licence_name_en: str | None = None
    type_code: str | None = None
    issuer: str | None = None
    issuer_code: str | None = None
    holder_masked: str | None = None
    issued_at: date | None = None
    valid_until: date | None = None
    algorithm: str | None = None
    digest: str | None = None
    revoked_at: datetime | None = None
    revocation_reason_code: str | None = None
    reason_code: str | None = None

    @property
    def reason_zh(self) -> str | None:
        return REASONS[self.reason_code][0] if self.reason_code else None

    @property
    def reason_en(self) -> str | None:
        return REASONS[self.reason_code][1] if self.reason_code else None

    @property
    def revocation_reason_label(self) -> str:
        code = self.revocation_reason_code
        return str(RevocationReason(code).label) if code in RevocationReason.values else ""


# --- Small public helpers -------------------------------------------------------------------------------


def today_in_china() -> date:
    """Today in Beijing: licence dates and expiry are Beijing calendar days."""
    return china_date(timezone.now())


def licence_verification_url(number: str) -> str:
    """The absolute public verification address of licence ``number`` (what its QR code opens)."""
    return settings.PUBLIC_BASE_URL + reverse("licences:verify_number", args=[number])


def licence_status_now(licence: Licence, *, today: date | None = None) -> str:
    """``revoked``, ``expired`` (today in Beijing is after ``valid_until``, marked by the job or not) or
    ``valid``."""
    if licence.status == LicenceStatus.REVOKED:
        return LicenceStatus.REVOKED
    today = today or today_in_china()
    if licence.status == LicenceStatus.EXPIRED or (licence.valid_until and today > licence.valid_until):
        return LicenceStatus.EXPIRED
    return LicenceStatus.VALID


def name_masked(name: str) -> str:
    """A person's name with all but the first character hidden: 张三 → 张*, 欧阳娜娜 → 欧***."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else "*" * len(name)


def holder_masked(licence: Licence) -> str:
    """An organisation's name and credit code as they are (public); a person's name and ID number masked."""
    if licence.holder_kind == HolderKind.PERSON:
        return f"{name_masked(licence.holder_name)}（{mask_id_number(licence.holder_code)}）"
    return f"{licence.holder_name}（{licence.holder_code}）"


def licence_pdf_bytes(licence: Licence) -> bytes:
    """The signed PDF as issued (``ValueError`` for a licence recorded before signing existed)."""
    if not licence.pdf:
        message = f"licence {licence.number} has no signed PDF"
        raise ValueError(message)
    with licence.pdf.open("rb") as stored:
        return bytes(stored.read())


def licence_signed_json(licence: Licence) -> bytes:
    """The signed JSON document (``ValueError`` for a licence recorded before signing existed)."""
    if licence.signed_at is None:
        message = f"licence {licence.number} is not signed"
        raise ValueError(message)
    return signed_document(
        bytes(licence.canonical_json),
        signature_der=bytes(licence.signature_der),
        key_fingerprint=licence.signature_key_fingerprint,
        digest=licence.signature_digest,
        signer_id=licence.signer_id,
    )


# --- Verification ---------------------------------------------------------------------------------------


def _answer(licence: Licence, *, algorithm: str, digest: str, problem: str | None = None) -> Verification:
    status = licence_status_now(licence)
    reason = problem or (None if status == LicenceStatus.VALID else status)
    return Verification(
        valid=reason is None,
        status=status,
        number=licence.number,
        licence_name=licence.name,
        licence_name_en=licence.name_en,
        type_code=licence.type_code,
        issuer=licence.issuer_name,
        issuer_code=licence.issuer_code,
        holder_masked=holder_masked(licence),
        issued_at=licence.issued_on,
        valid_until=licence.valid_until,
        algorithm=algorithm,
        digest=digest,
        revoked_at=licence.revoked_at,
        revocation_reason_code=licence.revocation_reason_code or None,
        reason_code=reason,
    )


def _signer_id(text: str) -> bytes | None:
    signer_id = text.encode("utf-8") if text else DEFAULT_SIGNER_ID
    return signer_id if len(signer_id) <= MAX_SIGNER_ID_SIZE else None


def _seal_problem(seal: Seal | None, key_fingerprint: str) -> str | None:
    if seal is None or seal.sm2_key_fingerprint != key_fingerprint:
        return "unknown_key"
    return "seal_revoked" if seal.status == SealStatus.REVOKED else None


def _register_problem(licence: Licence) -> str | None:
    """Check the stored signature of a licence found by number: signed, the record unchanged since signing
    (rebuilt canonical bytes equal to the signed ones), the SM2 signature valid, the seal not revoked."""
    if licence.signed_at is None or not licence.canonical_json:
        return "not_signed"
    canonical = bytes(licence.canonical_json)
    if licence_canonical(licence) != canonical or sm3_hex(canonical) != licence.signature_digest:
        return "record_changed"
    seal = seal_by_key_fingerprint(licence.signature_key_fingerprint)
    signer_id = _signer_id(licence.signer_id)
    if seal is None or signer_id is None:
        return "unknown_key"
    if not seal_verify(seal, canonical, bytes(licence.signature_der), signer_id=signer_id):
        return "signature_invalid"
    return _seal_problem(seal, licence.signature_key_fingerprint)


def licence_verify_by_number(number: str) -> Verification | None:
    """Verify the licence registered under ``number`` (public); None if there is none."""
    number = number.strip()
    if not number or len(number) > NUMBER_MAX_LENGTH:
        return None
    licence = Licence.objects.filter(number=number).first()
    if licence is None:
        return None
    return _answer(
        licence,
        algorithm=licence.signature_algorithm or SIGNATURE_ALGORITHM,
        digest=licence.signature_digest,
        problem=_register_problem(licence),
    )


def _verify_pdf(content: bytes) -> Verification:
    authority = authority_public()
    roots = [bytes(authority.certificate_der)] if authority is not None else []
    check = pdf_signature_check(content, trust_roots_der=roots)
    if check.problem is not None:
        return Verification(valid=False, reason_code=f"pdf_{check.problem}")
    seal = seal_by_certificate_serial(check.certificate_serial)
    if seal is None:
        return Verification(valid=False, reason_code="pdf_untrusted")
    sha256 = hashlib.sha256(content).hexdigest()
    licence = Licence.objects.filter(
        pdf_sha256=sha256, pdf_certificate_serial=seal.certificate_serial
    ).first()
    if licence is None:
        return Verification(valid=False, reason_code="pdf_not_issued")
    problem = "seal_revoked" if seal.status == SealStatus.REVOKED else None
    return _answer(licence, algorithm=PDF_ALGORITHM, digest=sha256, problem=problem)


def _verify_json(content: bytes) -> Verification:
    try:
        signed = signed_document_parse(content)
    except SignedJsonError:
        raise RuleViolation(
            "file_not_signed_licence",
            "该 JSON 文件不是签名电子证照。",
            "This JSON file is not a signed licence.",
            field="file",
        ) from None
    if signed.algorithm != SIGNATURE_ALGORITHM:
        return Verification(valid=False, reason_code="algorithm_unsupported")
    if signed.claimed_digest != signed.digest:
        return Verification(valid=False, reason_code="digest_mismatch")
    seal = seal_by_key_fingerprint(signed.key_fingerprint) if signed.key_fingerprint else None
    signer_id = _signer_id(signed.signer_id)
    if seal is None or signer_id is None:
        return Verification(valid=False, reason_code="unknown_key")
    if not seal_verify(seal, signed.canonical, signed.signature_der, signer_id=signer_id):
        return Verification(valid=False, reason_code="signature_invalid")
    licence = Licence.objects.filter(number=signed.number).first() if signed.number else None
    if licence is None or licence.signature_digest != signed.digest:
        return Verification(valid=False, reason_code="not_in_register")
    problem = _seal_problem(seal, signed.key_fingerprint)
    return _answer(licence, algorithm=SIGNATURE_ALGORITHM, digest=signed.digest, problem=problem)


def licence_verify_upload(content: bytes) -> Verification:
    """Verify an uploaded licence PDF (PAdES, against the platform root) or signed JSON (SM2, against the
    seal its key fingerprint names). 422 ``file_type_unsupported`` for anything else, and
    ``file_not_signed_licence`` for JSON that is not a signed licence."""
    if b"%PDF-" in content[:1024]:  # readers accept the header anywhere in the first kilobyte
        return _verify_pdf(content)
    if content.lstrip()[:1] == b"{":
        return _verify_json(content)
    raise RuleViolation(
        "file_type_unsupported",
        "请上传电子证照 PDF 文件或签名 JSON 文件。",
        "Upload a licence PDF or a signed JSON licence.",
        field="file",
    )


# --- The issuing department's administrators -------------------------------------------------------------


def licence_issuer_admin_require(user: User | AnonymousUser, licence: Licence) -> User:
    """The issuing department's administrators, and no one else (refusal audited).

    Revoking a licence is an administrative act of the issuing authority (Administrative Licensing Law
    Arts. 8, 69, 70), so a system administrator, whose role is technical, may not (docs/licences.md).
    """
    return require_permission(
        user,
        Permission.MANAGE_DEPARTMENT,
        department_code=licence.issuer_department_code,
        object_type="licence",
        object_id=licence.number,
    )


def _administered_codes(user: User | AnonymousUser) -> set[str]:
    return {
        grant.department_code
        for grant in user_roles(user)
        if Permission.MANAGE_DEPARTMENT in ROLE_PERMISSIONS[grant.role] and grant.department_code
    }


def licences_for_admin(user: User | AnonymousUser, *, query: str = "") -> QuerySet[Licence]:
    """Licences issued by the departments ``user`` administers, newest first, optionally matching ``query``
    (number, holder name or holder code); refused (audited) for anyone who administers none."""
    codes = _administered_codes(user)
    if not codes:
        raise permission_denied(user, Permission.MANAGE_DEPARTMENT, object_type="licence")
    licences = Licence.objects.filter(issuer_department_code__in=codes)
    query = query.strip()[:NUMBER_MAX_LENGTH]
    if query:
        licences = licences.filter(
            Q(number__icontains=query) | Q(holder_name__icontains=query) | Q(holder_code=query.upper())
        )
    return licences.defer("canonical_json", "signature_der", "data").order_by("-created_at", "-pk")


def licence_for_admin(user: User | AnonymousUser, number: str) -> Licence:
    """One licence for its issuing department's administrators; 404 (to administrators) if there is none,
    403 (audited) for everyone else."""
    licence = Licence.objects.filter(number=number[:NUMBER_MAX_LENGTH]).first()
    if licence is None:
        if user_has_permission(user, Permission.MANAGE_DEPARTMENT):
            raise Http404(number)
        raise permission_denied(
            user, Permission.MANAGE_DEPARTMENT, object_type="licence", object_id=number[:NUMBER_MAX_LENGTH]
        )
    licence_issuer_admin_require(user, licence)
    return licence
