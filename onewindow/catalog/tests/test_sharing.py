"""Sharing requests and grants (issue #7 item 4; State Council 2016 No. 51 Art. 5, 10–12): the three
paths, the answer deadline in working days with its light and escalation, approval, refusal, revocation,
expiry, ``grant_check``, and the API for every role."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.catalog import actions_sharing, selectors_sharing, sharing_deadlines
from onewindow.catalog.models import Grant, GrantStatus, ShareRequest, ShareRequestStatus
from onewindow.catalog.tests.conftest import create, metadata
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.notifications.models import Notification

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
# Wednesday 30 September 2026, the day before the National Day holiday (1–7 October; Saturday 10 October
# is a make-up working day): ten working days later is Tuesday 20 October.
REQUESTED = datetime(2026, 9, 30, 10, 0, tzinfo=CHINA)
DUE = date(2026, 10, 20)
UNTIL = date(2027, 6, 30)


def at(moment: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``timezone.now()`` answer ``moment`` everywhere the sharing code asks."""
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)


@pytest.fixture
def other_admin(role_users: Any, departments: Any) -> Any:
    """An administrator of OTHER, the department providing the ``other_*`` resources."""
    from onewindow.accounts.models import Membership
    from onewindow.accounts.roles import Kind, Role
    from onewindow.accounts.tests.factories import UserFactory

    user = UserFactory.create(username="t_other_admin", kind=Kind.STAFF)
    Membership.objects.create(user=user, role=Role.DEPARTMENT_ADMIN, department=departments["OTHER"])
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=user, name="default", confirmed=True, key="00" * 20)
    return user


@pytest.fixture
def mixed(catalog: dict[str, Any]) -> Any:
    """OTHER's resource shared unconditionally, with one conditional and one not-shared item."""
    return create(
        "OTHER",
        **metadata(
            name="学籍信息",
            sharing_type="unconditional",
            sharing_condition="",
            data_items=[
                {"name": "学校名称", "data_type": "C"},
                {"name": "学籍号", "data_type": "C", "sharing_type": "conditional"},
                {"name": "家庭住址", "data_type": "C", "sharing_type": "not_shared"},
            ],
        ),
    )


def request(user: Any, resource: Any, items: list[str], **overrides: Any) -> ShareRequest:
    fields: dict[str, Any] = {
        "consumer_department": "TDEPT",
        "items": items,
        "purpose": "核验教师资格申请人的任职学校。",
        "legal_basis": "《教师资格条例》第十四条",
        "until": UNTIL,
        **overrides,
    }
    return actions_sharing.share_request_create(acting_user=user, resource=resource, **fields)


# --- The three paths ---------------------------------------------------------------------------------------


def test_unconditional_items_are_granted_at_once(
    catalog: dict[str, Any], role_users: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given TDEPT's administrator and OTHER's unconditionally shared resource
    at(REQUESTED, monkeypatch)
    admin = role_users["department_admin"]

    # When they request its item
    made = request(admin, catalog["other_open"], ["图书馆名称"])

    # Then the request is recorded as auto-approved, with no answer deadline, and the grant made at once
    assert made.status == ShareRequestStatus.AUTO_APPROVED
    assert made.due_date is None
    grant = Grant.objects.get(request=made)
    assert (grant.consumer.code, grant.item_names, grant.expires_on, grant.granted_by) == (
        "TDEPT",
        ["图书馆名称"],
        UNTIL,
        None,
    )
    assert selectors_sharing.grant_check("TDEPT", catalog["other_open"].code, ["图书馆名称"]) == grant
    actions = list(
        AuditRecord.objects.filter(action__startswith="catalog.share").values_list("action", flat=True)
    )
    assert actions == ["catalog.share_requested", "catalog.share_auto_granted"]


def test_conditional_items_wait_for_the_provider_ten_working_days(
    catalog: dict[str, Any], role_users: Any, other_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the day before the National Day holiday
    at(REQUESTED, monkeypatch)

    # When TDEPT's administrator requests OTHER's conditional resource
    made = request(role_users["department_admin"], catalog["other_conditional"], ["姓名"])

    # Then it waits for OTHER, due in 10 working days on the real calendar (holiday skipped, make-up
    # Saturday counted), green for now, and OTHER's administrator has it in their messages
    assert made.status == ShareRequestStatus.PENDING
    assert made.due_date == DUE
    assert made.light == "green"
    assert not Grant.objects.exists()
    note = Notification.objects.get(user=other_admin, kind="share_request")
    assert note.link == f"/catalog/share-requests/{made.pk}/"
    assert "2026-10-20" in note.body
    assert selectors_sharing.grant_check("TDEPT", catalog["other_conditional"].code, ["姓名"]) is None


def test_not_shared_resources_and_items_cannot_be_requested(
    catalog: dict[str, Any], mixed: Any, role_users: Any
) -> None:
    admin = role_users["department_admin"]

    # A not-shared resource: refused with the provider's basis (No. 51 Art. 9), nothing written
    with pytest.raises(RuleViolation) as refused:
        request(admin, catalog["other_not_shared"], ["底稿编号"])
    assert refused.value.code == "resource_not_shared"
    assert "《审计法》第十六条" in refused.value.message_zh
    assert "not shared" in refused.value.message_en

    # A not-shared item of a shared resource: refused per item
    with pytest.raises(FieldErrors) as invalid:
        request(admin, mixed, ["学校名称", "家庭住址"])
    assert [(e.field, e.code) for e in invalid.value.errors] == [("items", "item_not_shared")]
    assert "家庭住址" in invalid.value.errors[0].message_zh
    assert not ShareRequest.objects.exists()

    # A conditional item makes the whole request wait for the provider
    assert request(admin, mixed, ["学校名称", "学籍号"]).status == ShareRequestStatus.PENDING


def test_request_fields_are_checked_together(catalog: dict[str, Any], role_users: Any) -> None:
    with pytest.raises(FieldErrors) as invalid:
        request(
            role_users["department_admin"],
            catalog["other_conditional"],
            [],
            purpose=" ",
            legal_basis="",
            until=date(2020, 1, 1),
        )
    assert [(e.field, e.code) for e in invalid.value.errors] == [
        ("items", "items_required"),
        ("purpose", "purpose_required"),
        ("legal_basis", "legal_basis_required"),
        ("until", "until_past"),
    ]
    with pytest.raises(FieldErrors) as unknown:
        request(role_users["department_admin"], catalog["other_conditional"], ["不存在"])
    assert unknown.value.errors[0].code == "item_not_found"
    with pytest.raises(RuleViolation) as own:
        request(role_users["department_admin"], catalog["own_conditional"], ["学校名称"])
    assert own.value.code == "share_request_own_resource"
    assert not ShareRequest.objects.exists()


# --- Deadline, light, escalation ---------------------------------------------------------------------------


def test_the_answer_deadline_turns_yellow_then_red_and_escalates(
    catalog: dict[str, Any], role_users: Any, other_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The back office's default escalation ladder (workflow migration 0003) applies to requests too:
    yellow -> the provider's administrators (a request has no assignee), red -> them again, red for 3
    working days -> leaders."""
    at(REQUESTED, monkeypatch)
    made = request(role_users["department_admin"], catalog["other_conditional"], ["姓名"])

    # Two working days before the deadline (yellow within ONEWINDOW_WORKFLOW_YELLOW_DAYS = 2)
    at(datetime(2026, 10, 16, 9, 0, tzinfo=CHINA), monkeypatch)
    assert sharing_deadlines.share_request_lights_refresh() == 1
    made.refresh_from_db()
    assert made.light == "yellow"
    assert sharing_deadlines.share_request_escalations_run() == 1
    assert Notification.objects.filter(user=other_admin, kind="share_request_escalated").count() == 1

    # The deadline day itself is still yellow; the day after it is red, and the red rule fires once
    at(datetime(2026, 10, 20, 9, 0, tzinfo=CHINA), monkeypatch)
    assert sharing_deadlines.share_request_lights_refresh() == 0
    at(datetime(2026, 10, 21, 9, 0, tzinfo=CHINA), monkeypatch)
    sharing_deadlines.share_request_lights_refresh()
    made.refresh_from_db()
    assert made.light == "red"
    assert sharing_deadlines.share_request_escalations_run() == 1
    assert sharing_deadlines.share_request_escalations_run() == 0
    reminders = Notification.objects.filter(user=other_admin, kind="share_request_escalated")
    assert "红灯" in reminders.order_by("-id")[0].title

    # Overdue by 3 working days or more: the leaders hear of it
    at(datetime(2026, 10, 26, 9, 0, tzinfo=CHINA), monkeypatch)
    assert sharing_deadlines.share_request_escalations_run() == 1
    assert Notification.objects.filter(user=role_users["leader"], kind="share_request_escalated").exists()
    assert AuditRecord.objects.filter(action="catalog.share_request_escalated").count() == 3

    # Answered late: recorded as such
    actions_sharing.share_request_decide(acting_user=other_admin, request=made, approve=True)
    assert AuditRecord.objects.get(action="catalog.share_approved").details["answered_by_due_date"] is False


# --- Approval, refusal, revocation, expiry -----------------------------------------------------------------


def test_approval_creates_the_grant_the_exchange_checks(
    catalog: dict[str, Any], role_users: Any, other_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(REQUESTED, monkeypatch)
    consumer_admin = role_users["department_admin"]
    made = request(consumer_admin, catalog["other_conditional"], ["姓名"])

    decided = actions_sharing.share_request_decide(acting_user=other_admin, request=made, approve=True)

    assert decided.status == ShareRequestStatus.APPROVED
    grant = Grant.objects.get(request=made)
    assert grant.granted_by == other_admin
    code = catalog["other_conditional"].code
    assert selectors_sharing.grant_check("TDEPT", code, ["姓名"]) == grant
    assert selectors_sharing.grant_check("TDEPT", code, ["姓名", "其他"]) is None
    assert selectors_sharing.grant_check("OTHER", code, ["姓名"]) is None
    assert Notification.objects.filter(user=consumer_admin, kind="share_decided").count() == 1
    approved = AuditRecord.objects.get(action="catalog.share_approved")
    assert (approved.actor_username, approved.department_code) == ("t_other_admin", "OTHER")
    assert approved.details["answered_by_due_date"] is True

    # Answered once only
    with pytest.raises(RuleViolation) as again:
        actions_sharing.share_request_decide(acting_user=other_admin, request=made, approve=False, reason="x")
    assert again.value.code == "share_request_decided"


def test_refusal_needs_a_reason_and_grants_nothing(
    catalog: dict[str, Any], role_users: Any, other_admin: Any
) -> None:
    made = request(role_users["department_admin"], catalog["other_conditional"], ["姓名"])
    with pytest.raises(FieldErrors) as missing:
        actions_sharing.share_request_decide(acting_user=other_admin, request=made, approve=False)
    assert missing.value.errors[0].code == "reason_required"
    made.refresh_from_db()
    assert made.status == ShareRequestStatus.PENDING

    actions_sharing.share_request_decide(
        acting_user=other_admin, request=made, approve=False, reason="用途与共享条件不符。"
    )
    made.refresh_from_db()
    assert (made.status, made.decision_reason) == (ShareRequestStatus.REFUSED, "用途与共享条件不符。")
    assert not Grant.objects.exists()


def test_revocation_ends_the_grant(catalog: dict[str, Any], role_users: Any, other_admin: Any) -> None:
    made = request(role_users["department_admin"], catalog["other_open"], ["图书馆名称"])
    grant = Grant.objects.get(request=made)
    with pytest.raises(FieldErrors):
        actions_sharing.grant_revoke(acting_user=other_admin, grant=grant, reason="")

    actions_sharing.grant_revoke(acting_user=other_admin, grant=grant, reason="该资源停止提供。")

    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED
    assert selectors_sharing.grant_check("TDEPT", catalog["other_open"].code, ["图书馆名称"]) is None
    revoked = AuditRecord.objects.get(action="catalog.grant_revoked")
    assert revoked.details["reason"] == "该资源停止提供。"
    assert Notification.objects.filter(user=role_users["department_admin"], kind="grant_revoked").exists()
    with pytest.raises(RuleViolation) as again:
        actions_sharing.grant_revoke(acting_user=role_users["system_admin"], grant=grant, reason="再次")
    assert again.value.code == "grant_revoked"


def test_expired_grants_are_inactive(catalog: dict[str, Any], role_users: Any) -> None:
    made = request(role_users["department_admin"], catalog["other_open"], ["图书馆名称"])
    grant = Grant.objects.get(request=made)
    code = catalog["other_open"].code
    assert selectors_sharing.grant_check("TDEPT", code, ["图书馆名称"], today=UNTIL) == grant
    assert (
        selectors_sharing.grant_check("TDEPT", code, ["图书馆名称"], today=UNTIL + timedelta(days=1)) is None
    )
    assert selectors_sharing.grant_is_active(grant, UNTIL + timedelta(days=1)) is False


def test_a_system_grant_covers_that_system_only(
    catalog: dict[str, Any], role_users: Any, departments: Any
) -> None:
    from onewindow.catalog import systems

    admin = role_users["department_admin"]
    mine = systems.system_register(
        acting_user=admin, department="TDEPT", code="TDEPT-A", name="审批系统", state="built", owner="张三"
    )
    other = systems.system_register(
        acting_user=admin, department="TDEPT", code="TDEPT-B", name="档案系统", state="built", owner="李四"
    )
    request(admin, catalog["other_open"], ["图书馆名称"], system=mine)
    code = catalog["other_open"].code
    assert selectors_sharing.grant_check("TDEPT", code, ["图书馆名称"], mine) is not None
    assert selectors_sharing.grant_check("TDEPT", code, ["图书馆名称"], "TDEPT-B") is None
    assert selectors_sharing.grant_check("TDEPT", code, ["图书馆名称"], other) is None
    assert selectors_sharing.grant_check("TDEPT", code, ["图书馆名称"]) is None


# --- Authorisation, every role -----------------------------------------------------------------------------


def _post(client: Client, url: str, token: str, body: dict[str, Any]) -> Any:
    return client.post(
        url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


REQUEST_BODY = {
    "items": ["姓名"],
    "purpose": "核验教师资格申请人的任职学校。",
    "legal_basis": "《教师资格条例》第十四条",
    "until": "2027-06-30",
}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_the_consumers_administrators_request(
    role: str, catalog: dict[str, Any], role_users: Any, client: Client, api_token_for: Callable[[Any], str]
) -> None:
    token = api_token_for(role_users[role])
    code = catalog["other_conditional"].code
    denied = AuditRecord.objects.filter(action="permission.denied").count()

    response = _post(
        client,
        f"/api/v1/catalog/resources/{code}/share-requests",
        token,
        {**REQUEST_BODY, "until": "2027-06-30"},
    )

    if role == "department_admin":
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {"id", "status", "due_date"}
        assert body["status"] == "pending"
        return
    # Refused: 404 for those who do not see the conditional resource at all, 403 for the others
    assert response.status_code in (403, 404), role
    if role not in ("department_handler", "system_admin"):
        assert response.status_code == 404, role
    else:
        assert response.status_code == 403, role
        assert AuditRecord.objects.filter(action="permission.denied").count() == denied + 1
    assert not ShareRequest.objects.exists()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_the_providers_administrators_decide(
    role: str,
    catalog: dict[str, Any],
    role_users: Any,
    other_admin: Any,
    client: Client,
    api_token_for: Callable[[Any], str],
) -> None:
    # Given OTHER's request for TDEPT's conditional resource (TDEPT is the role users' department)
    made = actions_sharing.share_request_create(
        acting_user=other_admin,
        resource=catalog["own_conditional"],
        consumer_department="OTHER",
        items=["学校名称"],
        purpose="核验",
        legal_basis="《教育法》",
        until=UNTIL,
    )
    token = api_token_for(role_users[role])

    response = _post(client, f"/api/v1/catalog/share-requests/{made.pk}/decide", token, {"approve": True})

    made.refresh_from_db()
    if role == "department_admin":
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "approved"
        assert made.status == ShareRequestStatus.APPROVED
        return
    expected = 403 if role in ("department_handler", "system_admin") else 404
    assert response.status_code in (403, 404)
    assert response.status_code == expected or role not in ("department_handler", "system_admin"), role
    assert made.status == ShareRequestStatus.PENDING
    assert not Grant.objects.exists()


def test_a_department_cannot_decide_on_another_departments_resource(
    catalog: dict[str, Any], role_users: Any, other_admin: Any, client: Client, api_token_for: Any
) -> None:
    made = request(role_users["department_admin"], catalog["other_conditional"], ["姓名"])
    token = api_token_for(role_users["department_admin"])  # the consumer's administrator

    response = _post(client, f"/api/v1/catalog/share-requests/{made.pk}/decide", token, {"approve": True})

    assert response.status_code == 403
    made.refresh_from_db()
    assert made.status == ShareRequestStatus.PENDING
    assert not Grant.objects.exists()
    with pytest.raises(PermissionDenied):
        actions_sharing.share_request_decide(
            acting_user=role_users["system_admin"], request=made, approve=True
        )


@pytest.mark.parametrize("role", ALL_ROLES)
def test_grants_list_and_revocation_for_every_role(
    role: str, catalog: dict[str, Any], role_users: Any, other_admin: Any, client: Client, api_token_for: Any
) -> None:
    # Given a grant from TDEPT (provider) to OTHER
    made = actions_sharing.share_request_create(
        acting_user=other_admin,
        resource=catalog["own_open"],
        consumer_department="OTHER",
        items=["图书馆名称"],
        purpose="公共服务地图",
        legal_basis="《公共图书馆法》",
        until=UNTIL,
    )
    grant = Grant.objects.get(request=made)
    token = api_token_for(role_users[role])

    listed = client.get("/api/v1/catalog/grants", {"consumer": "OTHER"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    revoked = _post(client, f"/api/v1/catalog/grants/{grant.pk}/revoke", token, {"reason": "停止提供"})

    grant.refresh_from_db()
    if role in ("department_handler", "department_admin", "system_admin"):
        assert listed.status_code == 200
        assert [item["id"] for item in listed.json()] == [grant.pk]
        assert listed.json()[0]["active"] is True
    else:
        assert listed.status_code == 403
    if role in ("department_admin", "system_admin"):
        assert revoked.status_code == 200, revoked.content
        assert grant.status == GrantStatus.REVOKED
    else:
        assert revoked.status_code in (403, 404)
        assert grant.status == GrantStatus.ACTIVE


def test_share_request_api_shapes(
    catalog: dict[str, Any], role_users: Any, other_admin: Any, client: Client, api_token_for: Any
) -> None:
    token = api_token_for(role_users["department_admin"])
    code = catalog["other_conditional"].code
    created = _post(client, f"/api/v1/catalog/resources/{code}/share-requests", token, REQUEST_BODY).json()
    listed = client.get(
        "/api/v1/catalog/share-requests", {"box": "sent"}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert listed.status_code == 200
    (item,) = listed.json()
    assert item["id"] == created["id"]
    assert (item["resource"], item["consumer"], item["provider"], item["items"]) == (
        code,
        "TDEPT",
        "OTHER",
        ["姓名"],
    )
    assert item["light"] == "green"
    received = client.get(
        "/api/v1/catalog/share-requests", {"box": "received"}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert received.json() == []
    other_token = api_token_for(other_admin)
    refused = _post(
        client, f"/api/v1/catalog/share-requests/{created['id']}/decide", other_token, {"approve": False}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "reason_required"
    not_shared = _post(
        client,
        f"/api/v1/catalog/resources/{catalog['own_not_shared'].code}/share-requests",
        other_token,
        {**REQUEST_BODY, "items": ["底稿编号"]},
    )
    assert not_shared.status_code == 404  # OTHER does not even see TDEPT's unshared resource
