"""Writes of the exchange: subsystem keys (issue, rotate, revoke, register), services (register, deactivate,
reactivate), per-grant rate limits, the gateway's keys.

Each action is one transaction with its audit record. Keys and services of a subsystem are managed by the
administrators of the department that owns it, and by system administrators; everyone else is refused
(``permission.denied`` audited, nothing changed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.catalog.models import Grant, InformationSystem
from onewindow.core.errors import RuleViolation
from onewindow.core.revocation import revocation_reason, revoke_locked
from onewindow.crypto.keys import Algorithm, generate_signer
from onewindow.exchange import protocol
from onewindow.exchange.certificates import subsystem_certificate_issue
from onewindow.exchange.keystore import private_key_seal
from onewindow.exchange.models import (
    GatewayKey,
    GrantRateLimit,
    KeyAlgorithm,
    KeyStatus,
    Service,
    ServiceKind,
    SubsystemKey,
)
from onewindow.seals.actions import crl_reissue_current

KEY_OBJECT = "exchange_subsystem_key"
SERVICE_OBJECT = "exchange_service"


_KEY_REASON = ("注销密钥须说明理由。", "Revoking a key needs a reason.")
_KEY_ALREADY_REVOKED = ("key_already_revoked", "该密钥已注销。", "This key is already revoked.")


def may_manage_system(user: User | AnonymousUser, system: InformationSystem) -> bool:
    """The owning department's administrators and system administrators."""
    if not isinstance(user, User):
        return False
    return user_has_permission(user, Permission.MANAGE_SYSTEM) or user_has_permission(
        user, Permission.MANAGE_DEPARTMENT, department_code=system.department.code
    )


def _require_manager(user: User | AnonymousUser | None, system: InformationSystem, object_type: str) -> None:
    if user is None:  # system jobs (seeding, tests of the platform itself)
        return
    if not may_manage_system(user, system):
        raise permission_denied(
            user, Permission.MANAGE_DEPARTMENT, object_type=object_type, object_id=system.code
        )


def subsystem_identifier(system: InformationSystem) -> str:
    return protocol.subsystem_path(system.department.credit_code, system.code)


def subsystem_key_issue(
    *, acting_user: User | None, system: InformationSystem, algorithm: str = KeyAlgorithm.SM2
) -> SubsystemKey:
    """Generate a new signing key for ``system`` with a certificate from the platform root; the active key,
    if any, is retired (it still verifies what it signed until revoked). Rotation is this same action."""
    _require_manager(acting_user, system, KEY_OBJECT)
    if algorithm not in KeyAlgorithm.values:
        raise RuleViolation(
            "algorithm_unsupported",
            "签名算法须为 SM2-SM3 或 Ed25519。",
            "The algorithm must be SM2-SM3 or Ed25519.",
            field="algorithm",
        )
    now = timezone.now()
    signer = generate_signer(Algorithm(algorithm))
    public_der = signer.public_key_der()
    return _subsystem_key_install(
        acting_user=acting_user,
        system=system,
        key_id=signer.key_id,
        algorithm=algorithm,
        public_der=public_der,
        private_key_token=private_key_seal(signer.key_id, algorithm, signer.private_key_der()),
        now=now,
        action="exchange.key_issued",
    )


def subsystem_key_revoke(*, acting_user: User | None, key: SubsystemKey, reason: str) -> SubsystemKey:
    """Revoke ``key`` at once: it signs and verifies nothing from now on (final); its certificate goes on
    the platform root's CRL, reissued in the same transaction."""
    system = key.system
    _require_manager(acting_user, system, KEY_OBJECT)
    reason = revocation_reason(reason, message_zh=_KEY_REASON[0], message_en=_KEY_REASON[1])
    with transaction.atomic():
        locked = revoke_locked(
            SubsystemKey.objects.select_for_update().get(pk=key.pk),
            revoked=KeyStatus.REVOKED,
            acting_user=acting_user,
            reason=reason,
            already=_KEY_ALREADY_REVOKED,
        )
        audit_append(
            action="exchange.key_revoked",
            acting_user=acting_user,
            actor_username="" if acting_user else "system",
            object_type=KEY_OBJECT,
            object_id=locked.key_id,
            details={"subsystem": subsystem_identifier(system), "reason": reason[:200]},
            department_code=system.department.code,
        )
        if locked.certificate_serial:  # the root certified it: list it on the root's CRL at once
            crl_reissue_current()
    return locked


def service_register(
    *,
    acting_user: User | None,
    provider: InformationSystem,
    code: str,
    name: str,
    resource_code: str,
    kind: str,
    builtin: str = "",
    endpoint_url: str = "",
    timeout_seconds: float = 5.0,
    retries: int = 2,
    openapi: dict[str, Any] | None = None,
    name_en: str = "",
) -> Service:
    """Register (or update) a service of ``provider``; built-in ones name a provider of ``providers``. Without
    ``openapi`` a change keeps the service's OpenAPI document (``service_openapi_set`` replaces it)."""
    from onewindow.exchange.providers import BUILTIN_PROVIDERS

    _require_manager(acting_user, provider, SERVICE_OBJECT)
    code = code.strip()
    valid_code = bool(code) and len(code) <= 60 and all(c.isalnum() or c in "-_." for c in code)
    if not valid_code:
        raise RuleViolation(
            "service_code_invalid",
            "服务编码只能包含字母、数字和 - _ .。",
            "A service code has letters, digits and - _ . only.",
            field="code",
        )
    if kind == ServiceKind.BUILTIN and builtin not in BUILTIN_PROVIDERS:
        raise RuleViolation(
            "builtin_unknown", "没有该内置服务。", "No such built-in provider.", field="builtin"
        )
    if kind == ServiceKind.HTTP and not endpoint_url.startswith(("http://", "https://")):
        raise RuleViolation(
            "endpoint_required",
            "外部服务须填写 HTTP 地址。",
            "An HTTP service needs its URL.",
            field="endpoint_url",
        )
    if kind not in ServiceKind.values:
        raise RuleViolation("kind_invalid", "服务类型无效。", "Invalid service kind.", field="kind")
    with transaction.atomic():
        fields: dict[str, Any] = {
            "name": name,
            "name_en": name_en,
            "resource_code": resource_code,
            "kind": kind,
            "builtin": builtin,
            "endpoint_url": endpoint_url,
            "timeout_seconds": max(0.1, min(float(timeout_seconds), 60.0)),
            "retries": max(0, min(int(retries), 5)),
        }
        if openapi is not None:  # else a change keeps the document (``service_openapi_set`` replaces it)
            fields["openapi"] = openapi
        # A change keeps the service's state: a deactivated service comes back only through
        # ``service_reactivate`` (audited as such), never as a side effect of editing it.
        service, created = Service.objects.update_or_create(
            provider=provider,
            code=code,
            defaults=fields,
            create_defaults={
                **fields,
                "openapi": openapi or {},
                "is_active": True,
                "created_at": timezone.now(),
            },
        )
        audit_append(
            action="exchange.service_registered" if created else "exchange.service_changed",
            acting_user=acting_user,
            actor_username="" if acting_user else "system",
            object_type=SERVICE_OBJECT,
            object_id=service.pk,
            details={
                "service": protocol.service_path(provider.department.credit_code, provider.code, code),
                "kind": kind,
                "resource_code": resource_code,
            },
            department_code=provider.department.code,
        )
    return service


def _service_locked(service: Service) -> Service:
    return Service.objects.select_for_update().select_related("provider__department").get(pk=service.pk)


DEACTIVATION_REASON_MAX = 1000


def service_deactivate(*, acting_user: User | None, service: Service, reason: str) -> Service:
    """Deactivate ``service`` (those who may change it: its provider department's administrators, system
    administrators). From the next call on the gateway refuses it ``unknown_service`` (404) and discovery no
    longer lists it; the admin pages still show it, marked inactive, with the reason, who and when (stored on
    the service until it is reactivated). Reversible (``service_reactivate``)."""
    _require_manager(acting_user, service.provider, SERVICE_OBJECT)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(
            "reason_required",
            "停用服务须说明理由。",
            "Deactivating a service needs a reason.",
            field="reason",
        )
    if len(reason) > DEACTIVATION_REASON_MAX:
        raise RuleViolation(
            "reason_too_long",
            f"停用理由不能超过 {DEACTIVATION_REASON_MAX} 个字符。",
            f"The reason may be at most {DEACTIVATION_REASON_MAX} characters.",
            field="reason",
        )
    with transaction.atomic():
        locked = _service_locked(service)
        if not locked.is_active:
            raise RuleViolation(
                "service_already_inactive", "该服务已停用。", "This service is already inactive.", status=409
            )
        locked.is_active = False
        locked.deactivated_at = timezone.now()
        locked.deactivated_by = acting_user
        locked.deactivation_reason = reason
        locked.save(update_fields=["is_active", "deactivated_at", "deactivated_by", "deactivation_reason"])
        provider = locked.provider
        audit_append(
            action="exchange.service_deactivated",
            acting_user=acting_user,
            actor_username="" if acting_user else "system",
            object_type=SERVICE_OBJECT,
            object_id=locked.pk,
            details={
                "service": protocol.service_path(provider.department.credit_code, provider.code, locked.code),
                "reason": reason[:200],
            },
            department_code=provider.department.code,
        )
    return locked


def service_reactivate(*, acting_user: User | None, service: Service) -> Service:
    """Put a deactivated ``service`` back into use (same permission as deactivating it): the next call is
    answered and discovery lists it again. The deactivation's reason, time and author are cleared (the audit
    trail keeps them)."""
    _require_manager(acting_user, service.provider, SERVICE_OBJECT)
    with transaction.atomic():
        locked = _service_locked(service)
        if locked.is_active:
            raise RuleViolation(
                "service_already_active", "该服务已在用。", "This service is already active.", status=409
            )
        locked.is_active = True
        locked.deactivated_at = None
        locked.deactivated_by = None
        locked.deactivation_reason = ""
        locked.save(update_fields=["is_active", "deactivated_at", "deactivated_by", "deactivation_reason"])
        provider = locked.provider
        audit_append(
            action="exchange.service_reactivated",
            acting_user=acting_user,
            actor_username="" if acting_user else "system",
            object_type=SERVICE_OBJECT,
            object_id=locked.pk,
            details={
                "service": protocol.service_path(provider.department.credit_code, provider.code, locked.code)
            },
            department_code=provider.department.code,
        )
    return locked


def grant_rate_limit_set(*, acting_user: User, grant: Grant, per_minute: int) -> GrantRateLimit:
    """Set the requests per minute ``grant`` allows (the provider department's administrators, system
    administrators)."""
    allowed = user_has_permission(acting_user, Permission.MANAGE_SYSTEM) or user_has_permission(
        acting_user, Permission.MANAGE_DEPARTMENT, department_code=grant.provider.code
    )
    if not allowed:
        raise permission_denied(
            acting_user, Permission.MANAGE_DEPARTMENT, object_type="catalog_grant", object_id=str(grant.pk)
        )
    if per_minute < 1 or per_minute > 1_000_000:
        raise RuleViolation(
            "rate_invalid",
            "每分钟次数须在 1 到 1,000,000 之间。",
            "Between 1 and 1,000,000 per minute.",
            field="per_minute",
        )
    with transaction.atomic():
        limit, _ = GrantRateLimit.objects.update_or_create(
            grant=grant,
            defaults={"per_minute": per_minute, "updated_at": timezone.now(), "updated_by": acting_user},
        )
        audit_append(
            action="exchange.rate_limit_set",
            acting_user=acting_user,
            object_type="catalog_grant",
            object_id=grant.pk,
            details={"per_minute": per_minute},
            department_code=grant.provider.code,
        )
    return limit


# --- Keys a department generates itself; the gateway's keys (docs/exchange.md, "The adapter protocol") ---

GATEWAY_KEY_OBJECT = "exchange_gateway_key"


def subsystem_key_register(
    *, acting_user: User | None, system: InformationSystem, certificate_request: bytes
) -> SubsystemKey:
    """Register a key that ``system``'s department generated itself, from a PKCS#10 certificate request
    signed with that key (proof of possession): the platform root certifies it and it becomes the active key
    (the previous one retires and still verifies). The private key never leaves the department, so the
    platform cannot sign with it: refused for a subsystem whose services the platform answers itself."""
    from django.db import IntegrityError

    from onewindow.crypto.keys import load_verifier
    from onewindow.exchange.certificates import CertificateError, certificate_request_public_key

    _require_manager(acting_user, system, KEY_OBJECT)
    try:
        public_der, algorithm = certificate_request_public_key(certificate_request)
    except CertificateError as error:
        raise RuleViolation(
            "certificate_request_invalid",
            "证书请求无效：须为以本子系统自己的 SM2 或 Ed25519 私钥签名的 PKCS#10 证书请求。",
            f"The certificate request is not valid: {error}.",
            field="certificate_request",
        ) from None
    if Service.objects.filter(provider=system, kind=ServiceKind.BUILTIN, is_active=True).exists():
        raise RuleViolation(
            "key_held_by_platform",
            "该子系统的服务由平台内置提供，其签名密钥须由平台保管。",
            "The platform answers this subsystem's services itself (built-in), so it holds its keys.",
            status=409,
        )
    key_id = load_verifier(public_der).key_id
    already = RuleViolation(
        "key_already_registered", "该公钥已登记。", "This public key is already registered.", status=409
    )
    if SubsystemKey.objects.filter(key_id=key_id).exists():
        raise already
    now = timezone.now()
    try:
        return _subsystem_key_install(
            acting_user=acting_user,
            system=system,
            key_id=key_id,
            algorithm=algorithm,
            public_der=public_der,
            private_key_token="",  # held by the department only
            now=now,
            action="exchange.key_registered",
        )
    except IntegrityError:  # the same key registered concurrently
        raise already from None


def _require_system_admin(user: User | None, object_id: str) -> None:
    if user is not None and not user_has_permission(user, Permission.MANAGE_SYSTEM):
        raise permission_denied(
            user, Permission.MANAGE_SYSTEM, object_type=GATEWAY_KEY_OBJECT, object_id=object_id
        )


def gateway_key_issue(*, acting_user: User | None) -> GatewayKey:
    """A new SM2 key for the exchange gateway, certified by the platform root; the active one retires (still
    verifies until revoked). System administrators, or the system on first need (``gateway_key_current``)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from onewindow.exchange.adapter import GATEWAY_IDENTITY
    from onewindow.exchange.certificates import gateway_certificate_issue

    _require_system_admin(acting_user, "")
    now = timezone.now()
    signer = generate_signer(Algorithm.SM2_SM3)
    certificate = gateway_certificate_issue(
        public_key_der=signer.public_key_der(),
        identity=GATEWAY_IDENTITY,
        validity=dt.timedelta(days=int(settings.EXCHANGE_KEY_CERTIFICATE_DAYS)),
        now=now,
    )
    with transaction.atomic():
        retired = list(GatewayKey.objects.select_for_update().filter(status=KeyStatus.ACTIVE))
        GatewayKey.objects.filter(pk__in=[key.pk for key in retired]).update(
            status=KeyStatus.RETIRED, retired_at=now
        )
        key = GatewayKey.objects.create(
            key_id=signer.key_id,
            algorithm=KeyAlgorithm.SM2,
            public_key_der=signer.public_key_der(),
            private_key_token=private_key_seal(signer.key_id, KeyAlgorithm.SM2, signer.private_key_der()),
            certificate_der=certificate.public_bytes(Encoding.DER),
            certificate_serial=format(certificate.serial_number, "x"),
            status=KeyStatus.ACTIVE,
            created_at=now,
            created_by=acting_user,
        )
        audit_append(
            action="exchange.gateway_key_issued",
            acting_user=acting_user,
            actor_username="" if acting_user else "system",
            object_type=GATEWAY_KEY_OBJECT,
            object_id=key.key_id,
            details={
                "identity": GATEWAY_IDENTITY,
                "certificate_serial": key.certificate_serial,
                "retired": [old.key_id for old in retired],
            },
        )
    return key


def gateway_key_current() -> GatewayKey:
    """The gateway's active key; the first one is issued on first need (audited), as the seals do."""
    from django.db import IntegrityError

    key = GatewayKey.objects.filter(status=KeyStatus.ACTIVE).first()
    if key is None:
        try:
            key = gateway_key_issue(acting_user=None)
        except IntegrityError:  # issued meanwhile by a concurrent first call
            key = GatewayKey.objects.get(status=KeyStatus.ACTIVE)
    return key


def gateway_key_revoke(*, acting_user: User | None, key_id: str, reason: str) -> GatewayKey:
    """Revoke a gateway key at once (system administrators): the exchange stops signing with it and it leaves
    discovery; adapters drop it at their next refresh. The next call issues a new key if it was the active.
    Its certificate goes on the platform root's CRL, reissued in the same transaction."""
    _require_system_admin(acting_user, key_id)
    reason = revocation_reason(reason, message_zh=_KEY_REASON[0], message_en=_KEY_REASON[1])
    with transaction.atomic():
        found = GatewayKey.objects.select_for_update().filter(key_id=key_id).first()
        if found is None:
            raise RuleViolation("key_not_found", "没有该密钥。", "No such key.", status=404)
        locked = revoke_locked(
            found,
            revoked=KeyStatus.REVOKED,
            acting_user=acting_user,
            reason=reason,
            already=_KEY_ALREADY_REVOKED,
        )
        audit_append(
            action="exchange.gateway_key_revoked",
            acting_user=acting_user,
            actor_username="" if acting_user else "system",
            object_type=GATEWAY_KEY_OBJECT,
            object_id=locked.key_id,
            details={"reason": reason[:200]},
        )
        crl_reissue_current()  # the root certified it: list it on the root's CRL at once
    return locked


def _subsystem_key_install(
    *,
    acting_user: User | None,
    system: InformationSystem,
    key_id: str,
    algorithm: str,
    public_der: bytes,
    private_key_token: str,
    now: dt.datetime,
    action: str,
) -> SubsystemKey:
    """Certify ``public_der`` for ``system``, retire its active key and store the new one, audited as
    ``action`` (one transaction): shared by issuing a platform-held key and registering a department's key."""
    from cryptography.hazmat.primitives.serialization import Encoding

    certificate = subsystem_certificate_issue(
        public_key_der=public_der,
        department_name=system.department.name,
        credit_code=system.department.credit_code,
        subsystem_path=subsystem_identifier(system),
        validity=dt.timedelta(days=int(settings.EXCHANGE_KEY_CERTIFICATE_DAYS)),
        now=now,
    )
    with transaction.atomic():
        retired = list(
            SubsystemKey.objects.select_for_update().filter(system=system, status=KeyStatus.ACTIVE)
        )
        SubsystemKey.objects.filter(pk__in=[key.pk for key in retired]).update(
            status=KeyStatus.RETIRED, retired_at=now
        )
        key = SubsystemKey.objects.create(
            system=system,
            key_id=key_id,
            algorithm=algorithm,
            public_key_der=public_der,
            private_key_token=private_key_token,
            certificate_der=certificate.public_bytes(Encoding.DER),
            certificate_serial=format(certificate.serial_number, "x"),
            status=KeyStatus.ACTIVE,
            created_at=now,
            created_by=acting_user,
        )
        audit_append(
            action=action,
            acting_user=acting_user,
            actor_username="" if acting_user else "system",
            object_type=KEY_OBJECT,
            object_id=key.key_id,
            details={
                "subsystem": subsystem_identifier(system),
                "algorithm": algorithm,
                "certificate_serial": key.certificate_serial,
                "retired": [old.key_id for old in retired],
            },
            department_code=system.department.code,
        )
    return key


# --- A service's OpenAPI document (docs/exchange.md "Pages") -----------------------------------------------


def service_openapi_set(*, acting_user: User | None, service: Service, document: str | Any) -> Service:
    """Replace ``service``'s OpenAPI document (those who may change the service). ``document`` is the JSON
    text or the parsed value; it must meet ``openapi_document.openapi_document_check`` (refused 422 on the
    field ``document`` otherwise). Discovery serves it from the next request on. A built-in service's
    document is generated by the platform: refused ``service_openapi_builtin`` (409). The audit record keeps
    the document's SHA-256 and size, never the document."""
    from onewindow.exchange.openapi_document import canonical_bytes, document_sha256, openapi_document_check

    _require_manager(acting_user, service.provider, SERVICE_OBJECT)
    builtin = RuleViolation(
        "service_openapi_builtin",
        "内置服务的 OpenAPI 文档由平台生成，不能修改。",
        "A built-in service's OpenAPI document is generated by the platform and cannot be changed.",
        status=409,
    )
    if service.kind == ServiceKind.BUILTIN:
        raise builtin
    checked = openapi_document_check(document)
    with transaction.atomic():
        locked = _service_locked(service)
        if locked.kind == ServiceKind.BUILTIN:  # changed to built-in meanwhile
            raise builtin
        locked.openapi = checked
        locked.save(update_fields=["openapi"])
        provider = locked.provider
        audit_append(
            action="exchange.service_openapi_set",
            acting_user=acting_user,
            actor_username="" if acting_user else "system",
            object_type=SERVICE_OBJECT,
            object_id=locked.pk,
            details={
                "service": protocol.service_path(provider.department.credit_code, provider.code, locked.code),
                "sha256": document_sha256(checked),
                "bytes": len(canonical_bytes(checked)),
            },
            department_code=provider.department.code,
        )
    return locked
