"""Pages with URL arguments that the accessibility sweep (test_axe_pages.py) should also visit.

The sweep finds every page without URL arguments by itself. A page such as ``/audit/<int:seq>/`` needs
an object to exist first: add an entry here for it. Each entry is either

* a path (``"/some/page/?tab=2"``), or
* a function that receives the role users (``conftest.role_users``: role name → User), creates what the
  page needs with the app's factories and returns the path, e.g.::

      def audit_record_detail(role_users):
          from onewindow.audit.actions import audit_append
          record = audit_append(action="demo.viewed", acting_user=role_users["auditor"], ...)
          return f"/audit/{record.seq}/"

      AXE_EXTRA_URLS.append(audit_record_detail)

The sweep opens each page as the first identity that gets HTTP 200 (each role of ``conftest.ALL_ROLES``,
anonymous, then the half-signed-in staff states), in Chinese and English, in large-text mode and at a
375 px viewport, and fails on any serious or critical axe-core finding. Functions run inside the test's
database, so the objects they create are cleaned up. Keep samples to one per kind of page: each costs a
browser run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ExtraUrl = str | Callable[[dict[str, Any]], str]

AXE_EXTRA_URLS: list[ExtraUrl] = []


def _audit_record_detail(role_users: dict[str, Any]) -> str:
    from onewindow.audit.actions import audit_append

    record = audit_append(action="axe.sample", acting_user=role_users["system_admin"], object_type="sample")
    return f"/audit/{record.seq}/"


def _service_point_edit(role_users: dict[str, Any]) -> str:
    from onewindow.organisations.tests.factories import ServicePointFactory

    point = ServicePointFactory.create(code="AXEHALL", name="无障碍测试服务大厅")
    return f"/admin/organisations/service-points/{point.code}/edit/"


def _division_pages(role_users: dict[str, Any]) -> str:
    # Browser tests flush the database between tests, which removes the divisions the data migration
    # loaded, so the sample creates the ones it shows.
    from onewindow.organisations.models import DivisionLevel
    from onewindow.organisations.tests.factories import DivisionFactory

    province = DivisionFactory.create(code="350000", name="福建省", level=DivisionLevel.PROVINCE)
    DivisionFactory.create(code="350100", name="福州市", level=DivisionLevel.CITY, parent=province)
    return "/admin/organisations/divisions/350000/"


def _division_create(role_users: dict[str, Any]) -> str:
    from onewindow.organisations.models import DivisionLevel
    from onewindow.organisations.tests.factories import DivisionFactory

    city = DivisionFactory.create(code="350100", name="福州市", level=DivisionLevel.CITY)
    DivisionFactory.create(code="350102", name="鼓楼区", level=DivisionLevel.COUNTY, parent=city)
    return "/admin/organisations/divisions/350102/new/"


def _service_guide(role_users: dict[str, Any]) -> str:
    from onewindow.services.tests.conftest import published_item

    return f"/services/{published_item('AXE-GUIDE').service.code}/"


def _service_search(role_users: dict[str, Any]) -> str:
    from onewindow.services.tests.conftest import published_item

    published_item("AXE-SEARCH")
    return "/services/?q=%E6%B5%8B%E8%AF%95"  # 测试


def _service_admin_pages(role_users: dict[str, Any]) -> str:
    from onewindow.services.tests.conftest import published_item

    published_item("AXE-ADMIN")
    return "/admin/services/AXE-ADMIN/"


def _service_admin_version(role_users: dict[str, Any]) -> str:
    from onewindow.services.tests.conftest import published_item

    published_item("AXE-VERSION")
    return "/admin/services/AXE-VERSION/versions/1/"


def _service_admin_draft(role_users: dict[str, Any]) -> str:
    from onewindow.services import actions
    from onewindow.services.tests.conftest import item_fields

    actions.service_create(
        acting_user=None, code="AXE-DRAFT", kind="item", department_code="TDEPT", **item_fields()
    )
    return "/admin/services/AXE-DRAFT/draft/"


def _sample_application(role_users: dict[str, Any]) -> Any:
    """A resident's application on a published test service, missing a required material."""
    from onewindow.applications.actions import application_submit
    from onewindow.applications.tests.factories import VALID_FORM, published_service

    published_service("AXESVC")
    application, _created = application_submit(
        acting_user=role_users["resident"], service_code="AXESVC", form=dict(VALID_FORM), channel="web"
    )
    return application


def _application_apply(role_users: dict[str, Any]) -> str:
    from onewindow.applications.tests.factories import published_service

    published_service("AXESVC")
    return "/applications/new/AXESVC/"


def _application_detail(role_users: dict[str, Any]) -> str:
    return f"/applications/{_sample_application(role_users).tracking_no}/"


def _application_receipt(role_users: dict[str, Any]) -> str:
    return f"/applications/{_sample_application(role_users).tracking_no}/receipt/"


def _application_withdraw(role_users: dict[str, Any]) -> str:
    return f"/applications/{_sample_application(role_users).tracking_no}/withdraw/"


def _window_application(role_users: dict[str, Any]) -> str:
    return f"/window/{_sample_application(role_users).tracking_no}/"


def _application_supplement_requested(role_users: dict[str, Any]) -> str:
    """The detail page with "what we need from you" and its supplement form."""
    from onewindow.applications.actions import SupplementItem, application_request_supplement

    application = _sample_application(role_users)
    application_request_supplement(
        acting_user=role_users["window_clerk"],
        application=application,
        items=[SupplementItem(field="company_name", reason="名称与核准的不一致")],
    )
    return f"/applications/{application.tracking_no}/"


def _reviewed_application(role_users: dict[str, Any]) -> Any:
    from onewindow.applications.actions import application_accept, application_decide

    application = _sample_application(role_users)
    application_accept(acting_user=role_users["window_clerk"], application=application)
    application.refresh_from_db()
    application_decide(acting_user=None, application=application, outcome="approved")
    application.refresh_from_db()
    return application


def _application_review_form(role_users: dict[str, Any]) -> str:
    """A decided application: documents and the 1-5 review form."""
    return f"/applications/{_reviewed_application(role_users).tracking_no}/"


def _review_follow_ups_and_stats(role_users: dict[str, Any]) -> str:
    """A bad review with its open follow-up (the stats page shows the same data as tables)."""
    from onewindow.applications.actions import review_submit

    application = _reviewed_application(role_users)
    review_submit(
        acting_user=role_users["resident"], application=application, score=1, comment="太慢", channel="web"
    )
    return "/reviews/follow-ups/"


def _process_version(role_users: dict[str, Any]) -> str:
    from onewindow.workflow.tests.factories import published_definition
    from onewindow.workflow.tests.test_views_processes import REVIEW_BPMN

    published_definition("AXE_PROC", REVIEW_BPMN, process_id="review_process")
    return "/admin/processes/AXE_PROC/versions/1/"


def _process_editor(role_users: dict[str, Any]) -> str:
    return _process_version(role_users).replace("versions/1/", "editor/")


def _case_diagram(role_users: dict[str, Any]) -> str:
    from onewindow.workflow.tests.test_diagram import review_case

    return f"/cases/{review_case(role_users['resident']).tracking_no}/diagram/"


def _registry_keeper(role_users: dict[str, Any], department_code: str) -> None:
    """Make the fixture's department handler a handler of the register's department (PSB or AMR) too, so
    that the sweep's probe finds someone who may open the register's pages. Browser tests flush the
    database, so the divisions the pages show are made here."""
    from onewindow.accounts.models import Membership
    from onewindow.accounts.roles import Role
    from onewindow.organisations.models import DivisionLevel
    from onewindow.organisations.tests.factories import DepartmentFactory, DivisionFactory

    city = DivisionFactory.create(code="350100", name="福州市", level=DivisionLevel.CITY)
    DivisionFactory.create(code="350102", name="鼓楼区", level=DivisionLevel.COUNTY, parent=city)
    Membership.objects.create(
        user=role_users["department_handler"],
        role=Role.DEPARTMENT_HANDLER,
        department=DepartmentFactory.create(code=department_code),
    )


def _registry_person(role_users: dict[str, Any]) -> Any:
    from onewindow.registry.tests.test_population_support import register, registrar

    _registry_keeper(role_users, "PSB")
    return register(registrar("axe_psb_registrar"))


def _registry_person_lookup(role_users: dict[str, Any]) -> str:
    _registry_keeper(role_users, "PSB")
    return "/registry/persons/"


def _registry_birth(role_users: dict[str, Any]) -> str:
    _registry_keeper(role_users, "PSB")
    return "/registry/persons/births/new"


def _registry_person_page(role_users: dict[str, Any]) -> str:
    return f"/registry/persons/{_registry_person(role_users).pk}/"


def _registry_person_correct(role_users: dict[str, Any]) -> str:
    return f"/registry/persons/{_registry_person(role_users).pk}/correct"


def _registry_entity(role_users: dict[str, Any]) -> Any:
    from onewindow.core.validators import make_credit_code
    from onewindow.registry.entities import entity_register

    _registry_keeper(role_users, "AMR")
    return entity_register(
        acting_user=None,
        credit_code=make_credit_code(
            authority="9", entity_type="1", division="350100", organisation_base="MA0AXE01"
        ),
        name="福州无障碍测试有限公司",
        type="llc",
        division_code="350102",
        business_scope="软件开发",
    )


def _registry_entity_register(role_users: dict[str, Any]) -> str:
    _registry_keeper(role_users, "AMR")
    return "/registry/entities/new"


def _registry_entity_public(role_users: dict[str, Any]) -> str:
    """The public lookup with its result (opened by the first role, a resident)."""
    return f"/registry/entities/?credit_code={_registry_entity(role_users).credit_code}"


def _registry_entity_change(role_users: dict[str, Any]) -> str:
    return f"/registry/entities/{_registry_entity(role_users).credit_code}/change"


AXE_EXTRA_URLS.extend(
    [
        _registry_person_lookup,
        _registry_birth,
        _registry_person_page,
        _registry_person_correct,
        _registry_entity_register,
        _registry_entity_public,
        _registry_entity_change,
        _process_version,
        _process_editor,
        _case_diagram,
        _application_apply,
        _application_supplement_requested,
        _application_review_form,
        _review_follow_ups_and_stats,
        _application_detail,
        _application_receipt,
        _application_withdraw,
        _window_application,
        _service_guide,
        _service_search,
        _service_admin_pages,
        _service_admin_version,
        _service_admin_draft,
        _audit_record_detail,
        _service_point_edit,
        "/admin/calendar/2026/",
        "/admin/organisations/departments/TDEPT/edit/",
        "/admin/organisations/departments/TDEPT/staff/",
        _division_pages,
        _division_create,
    ]
)


# --- Seals (issue #6): the public page with a revoked seal listed, a department's seal page with versions and
# a holder, and the revocation form. /seals/ and /seals/manage/ are also swept bare, as discovered.


def _seals_sample(role_users: dict[str, Any]) -> Any:
    """TDEPT's seal in its second version, the first revoked, the department handler appointed holder."""
    from onewindow.organisations.models import Department
    from onewindow.seals.actions import seal_holder_appoint, seal_revoke, seal_rotate

    department = Department.objects.get(code="TDEPT")
    first = seal_rotate(acting_user=None, department=department)
    active = seal_rotate(acting_user=None, department=department)
    seal_revoke(acting_user=None, seal=first, reason="测试：密钥可能泄露", reason_code="key_compromise")
    admin, handler = role_users["department_admin"], role_users["department_handler"]
    seal_holder_appoint(acting_user=admin, department=department, user=handler)
    return active


def _seals_public_with_revoked(role_users: dict[str, Any]) -> str:
    _seals_sample(role_users)
    return "/seals/"


def _seals_department(role_users: dict[str, Any]) -> str:
    _seals_sample(role_users)
    return "/seals/manage/TDEPT/"


def _seal_revoke_form(role_users: dict[str, Any]) -> str:
    return f"/seals/seal/{_seals_sample(role_users).pk}/revoke/"


AXE_EXTRA_URLS.extend([_seals_public_with_revoked, _seals_department, _seal_revoke_form])


# --- E-licences (issue #6): the page a licence's QR code opens, and the issuing department's licence page
# with its revocation form. /licences/verify/ and /licences/manage/ are also swept bare, as discovered.


def _licence_sample(role_users: dict[str, Any]) -> Any:
    """A business licence issued (signed) by TDEPT for a resident's case."""
    from django.utils import timezone

    from onewindow.licences.actions import licence_record

    return licence_record(
        application_id=_sample_application(role_users).pk,
        number="TDEPT-2026-000001",
        department_code="TDEPT",
        data={"credit_code": "91350100M000100Y43"},
        now=timezone.now(),
    )


def _licence_verify_number(role_users: dict[str, Any]) -> str:
    return f"/licences/verify/{_licence_sample(role_users).number}/"


def _licence_manage_detail(role_users: dict[str, Any]) -> str:
    return f"/licences/manage/{_licence_sample(role_users).number}/"


AXE_EXTRA_URLS.extend([_licence_verify_number, _licence_manage_detail])


# --- The holder's licence wallet (issue #6 item 5): a licence page of the wallet (the enterprise
# representative holds the sample) and a share link's page. /licences/mine/ is swept bare, as discovered.


def _licence_wallet_detail(role_users: dict[str, Any]) -> str:
    return f"/licences/mine/{_licence_sample(role_users).number}/"


def _licence_shared(role_users: dict[str, Any]) -> str:
    from urllib.parse import urlsplit

    from onewindow.licences.wallet import licence_share_create

    created = licence_share_create(
        acting_user=role_users["enterprise_representative"],
        licence=_licence_sample(role_users),
        hours=24,
        note="无障碍测试",
    )
    return urlsplit(created.url).path


AXE_EXTRA_URLS.extend([_licence_wallet_detail, _licence_shared])


# --- The resource catalog (issue #7): a resource page, the request form, a sharing request and a
# registered system. /catalog/, /catalog/share-requests/, /catalog/grants/, /catalog/systems/ and
# /catalog/supervision/ are swept bare, as discovered.


def _catalog_sample(role_users: dict[str, Any]) -> dict[str, Any]:
    """OTHER's conditional resource, requested by TDEPT's administrator (the role users' department)."""
    from datetime import timedelta

    from django.utils import timezone

    from onewindow.catalog import actions_sharing
    from onewindow.catalog.models import ShareRequest
    from onewindow.catalog.tests.conftest import create, metadata
    from onewindow.organisations.models import Department
    from onewindow.organisations.tests.factories import DepartmentFactory

    existing = ShareRequest.objects.select_related("resource").first()
    if existing is not None:
        return {"resource": existing.resource, "request": existing}
    if not Department.objects.filter(code="OTHER").exists():
        DepartmentFactory.create(code="OTHER", name="福州市教育局", name_en="Fuzhou Education Bureau")
    resource = create(
        "OTHER", **metadata(name="教师基本信息", data_items=[{"name": "姓名", "data_type": "C"}])
    )
    made = actions_sharing.share_request_create(
        acting_user=role_users["department_admin"],
        resource=resource,
        consumer_department="TDEPT",
        items=["姓名"],
        purpose="核验教师资格",
        legal_basis="《教师资格条例》",
        until=timezone.localdate() + timedelta(days=200),
    )
    return {"resource": resource, "request": made}


def _catalog_resource(role_users: dict[str, Any]) -> str:
    return f"/catalog/resources/{_catalog_sample(role_users)['resource'].code}/"


def _catalog_share_form(role_users: dict[str, Any]) -> str:
    return f"/catalog/resources/{_catalog_sample(role_users)['resource'].code}/share/"


def _catalog_share_request(role_users: dict[str, Any]) -> str:
    return f"/catalog/share-requests/{_catalog_sample(role_users)['request'].pk}/"


def _catalog_system(role_users: dict[str, Any]) -> str:
    from onewindow.catalog import systems

    system = systems.system_register(
        acting_user=role_users["department_admin"],
        department="TDEPT",
        code="TDEPT-AXE",
        name="无障碍测试系统",
        state="planned",
        owner="信息中心",
    )
    return f"/catalog/systems/{system.pk}/"


AXE_EXTRA_URLS.extend([_catalog_resource, _catalog_share_form, _catalog_share_request, _catalog_system])


# --- Event subscriptions (issue #8): a TDEPT subscription's page with one dead letter and its replay button.
# /exchange/subscriptions/ is also swept, as discovered.


def _pubsub_subscription(role_users: dict[str, Any]) -> str:
    from django.db import transaction

    from onewindow.outbox.actions import outbox_append
    from onewindow.pubsub.actions import subscription_create
    from onewindow.pubsub.backends.database import DatabaseBackend
    from onewindow.pubsub.models import Delivery, DeliveryStatus

    subscription, _ = subscription_create(
        acting_user=None,
        department_code="TDEPT",
        code="tdept-axe",
        name="无障碍测试订阅",
        topics=["entity.*"],
        mode="pull",
    )
    with transaction.atomic():
        outbox_append(
            topic="entity.registered",
            key="91350100M000100Y43",
            payload={"credit_code": "91350100M000100Y43", "registration_authority": "TDEPT"},
        )
    DatabaseBackend().publish(limit=10)
    Delivery.objects.filter(subscription=subscription).update(
        status=DeliveryStatus.DEAD, attempts=8, last_error="http_500"
    )
    return f"/exchange/subscriptions/{subscription.code}/"


AXE_EXTRA_URLS.append(_pubsub_subscription)


# --- Exchange services and keys (issue #8 item 9): a TDEPT service's monitoring page with calls and errors,
# its change form, a subsystem's keys (active, retired, revoked) and the revocation form. /exchange/services/,
# /exchange/services/new/ and /exchange/systems/ are also swept, as discovered.


def _exchange_sample(role_users: dict[str, Any]) -> dict[str, Any]:
    """TDEPT-AXE-EX with a retired, a revoked and an active key, a service and five logged calls."""
    import datetime as dt

    from django.utils import timezone

    from onewindow.catalog.models import InformationSystem
    from onewindow.catalog.tests.conftest import create, metadata
    from onewindow.exchange import actions, protocol
    from onewindow.messagelog.actions import message_log_append
    from onewindow.organisations.models import Department

    existing = InformationSystem.objects.filter(code="TDEPT-AXE-EX").first()
    if existing is not None:
        service = existing.exchange_services.get()
        return {
            "system": existing,
            "service": service,
            "key": existing.exchange_keys.filter(status="retired").get(),
        }
    department = Department.objects.get(code="TDEPT")
    now = timezone.now()
    system = InformationSystem.objects.create(
        department=department,
        code="TDEPT-AXE-EX",
        name="无障碍测试交换系统",
        state="built",
        owner="信息中心",
        created_at=now,
        updated_at=now,
    )
    first = actions.subsystem_key_issue(acting_user=None, system=system)
    actions.subsystem_key_revoke(acting_user=None, key=first, reason="测试：注销")
    retired = actions.subsystem_key_issue(acting_user=None, system=system, algorithm="Ed25519")
    actions.subsystem_key_issue(acting_user=None, system=system)
    resource = create("TDEPT", **metadata())
    service = actions.service_register(
        acting_user=None,
        provider=system,
        code="axe-basic",
        name="无障碍测试查询",
        resource_code=resource.code,
        kind="http",
        endpoint_url="https://axe.example/exchange",
    )
    subsystem = protocol.subsystem_path(department.credit_code, system.code)
    for n, code in enumerate(["", "", "no_grant", "provider_unavailable", ""]):
        message_log_append(
            exchange_id=f"axe{n}",
            service=protocol.service_path(department.credit_code, system.code, service.code),
            consumer=subsystem,
            provider=subsystem,
            purpose="axe",
            request_digest="0" * 64,
            response_digest="0" * 64,
            request_signature="",
            response_signature="",
            status=200 if not code else 403,
            error_code=code,
            started_at=now - dt.timedelta(minutes=10 * n),
            duration_ms=5.0 + n,
            request_body=b"{}",
            response_body=b"{}",
            consumer_subsystem_code=system.code,
            provider_subsystem_code=system.code,
        )
    return {"system": system, "service": service, "key": retired}


def _exchange_service(role_users: dict[str, Any]) -> str:
    service = _exchange_sample(role_users)["service"]
    provider = service.provider
    return f"/exchange/services/CN/GOV/{provider.department.credit_code}/{provider.code}/{service.code}/"


def _exchange_service_edit(role_users: dict[str, Any]) -> str:
    return f"{_exchange_service(role_users)}edit/"


def _exchange_keys(role_users: dict[str, Any]) -> str:
    return f"/exchange/systems/{_exchange_sample(role_users)['system'].code}/keys/"


def _exchange_key_revoke(role_users: dict[str, Any]) -> str:
    return f"/exchange/keys/{_exchange_sample(role_users)['key'].key_id}/revoke/"


AXE_EXTRA_URLS.extend([_exchange_service, _exchange_service_edit, _exchange_keys, _exchange_key_revoke])


# --- Exchange administration (issue #8 leftovers): a service's deactivation form, a gateway key's revocation
# form and an information system's page with a recorded conformance report (each check with its reasons).
# /exchange/gateway-keys/ is also swept, as discovered (system administrators).


def _exchange_service_deactivate(role_users: dict[str, Any]) -> str:
    return f"{_exchange_service(role_users)}deactivate/"


def _exchange_gateway_key_revoke(role_users: dict[str, Any]) -> str:
    from onewindow.exchange import actions

    return f"/exchange/gateway-keys/{actions.gateway_key_current().key_id}/revoke/"


def _catalog_system_conformance(role_users: dict[str, Any]) -> str:
    from onewindow.catalog import systems
    from onewindow.catalog.models import InformationSystem

    system = InformationSystem.objects.filter(code="TDEPT-AXE-CF").first() or systems.system_register(
        acting_user=role_users["department_admin"],
        department="TDEPT",
        code="TDEPT-AXE-CF",
        name="无障碍测试接入系统",
        state="built",
        owner="信息中心",
    )
    checks = [
        {
            "name": "openapi",
            "passed": False,
            "reason_zh": "元服务 OpenAPI 文档不可用。",
            "reason_en": "No OpenAPI.",
        },
        {"name": "health", "passed": True, "reason_zh": "健康检查元服务正常。", "reason_en": "Health ok."},
    ]
    systems.system_conformance_record(
        acting_user=None,
        system=system,
        passed=False,
        endpoint="https://axe.example/exchange",
        report={"passed": False, "reached": False, "checks": checks},
    )
    return f"/catalog/systems/{system.pk}/"


AXE_EXTRA_URLS.extend(
    [_exchange_service_deactivate, _exchange_gateway_key_revoke, _catalog_system_conformance]
)


# --- Federation admin pages (issue #8 leftovers): a peer's page (directory, grants, export counts), its
# revocation form and a grant's revocation form. /federation/admin/ (this node), /federation/admin/peers/,
# /federation/admin/peers/new/, /federation/admin/grants/ and /federation/admin/grants/new/ are also swept, as
# discovered.


def _federation_sample(role_users: dict[str, Any]) -> dict[str, Any]:
    """Peer CN-3501 (all four directions) with one directory member and a grant of a TDEPT service."""
    import datetime as dt

    from django.test import override_settings
    from django.utils import timezone

    from onewindow.catalog.models import DataItem
    from onewindow.federation import actions as federation
    from onewindow.federation.models import Peer
    from onewindow.federation.tests.support import FakeNode

    existing = Peer.objects.filter(instance="CN-3501").first()
    if existing is not None:
        return {"peer": existing, "grant": existing.grants.get()}
    service = _exchange_sample(role_users)["service"]
    remote = FakeNode("CN-3501")
    with override_settings(FEDERATION_INSTANCE="CN-35", FEDERATION_NATS_URL=""):
        peer = federation.peer_register(
            acting_user=None,
            instance=remote.instance,
            name="福州市节点",
            base_url="https://zwfw.fuzhou.example",
            root_certificate=remote.root_pem,
            fingerprint=remote.root_sha256,
            directions=["requests_out", "requests_in", "events_out", "events_in"],
            export_topics=["entity.*"],
            import_topics=["entity.registered"],
            events_transport="https",
        )
    federation.peer_directory_store(
        peer=peer,
        members=[
            {
                "credit_code": "11350100MB0000003X",
                "name": "福州市市场监督管理局",
                "name_en": "Fuzhou AMR",
                "services": [
                    {"service": "CN/GOV/11350100MB0000003X/CITY-REG/entity-basic", "name": "法人查询"}
                ],
            }
        ],
    )
    items = DataItem.objects.filter(version__resource__code=service.resource_code).exclude(
        sharing_type="not_shared"
    )
    grant = federation.peer_grant_create(
        acting_user=None,
        peer=peer,
        service=service,
        consumer="CN/GOV/11350100MB0000003X/CITY-TAX",
        items=[item.name for item in items[:2]],
        until=timezone.localdate() + dt.timedelta(days=30),
    )
    return {"peer": peer, "grant": grant}


def _federation_peer(role_users: dict[str, Any]) -> str:
    return f"/federation/admin/peers/{_federation_sample(role_users)['peer'].instance}/"


def _federation_peer_revoke(role_users: dict[str, Any]) -> str:
    return f"{_federation_peer(role_users)}revoke/"


def _federation_grant_revoke(role_users: dict[str, Any]) -> str:
    return f"/federation/admin/grants/{_federation_sample(role_users)['grant'].pk}/revoke/"


AXE_EXTRA_URLS.extend([_federation_peer, _federation_peer_revoke, _federation_grant_revoke])


# --- Exchange: a service's OpenAPI document form (issue #8 leftovers), on the TDEPT HTTP service above.


def _exchange_service_openapi(role_users: dict[str, Any]) -> str:
    return f"{_exchange_service(role_users)}openapi/"


AXE_EXTRA_URLS.append(_exchange_service_openapi)
