"""The process editor's pages and JSON endpoints (/admin/processes/, issue #4 item 6), for every role.

Only the department admin of the owning department may upload, save, validate and publish (the actions
check that again); staff handling tasks in a department the model's lanes name may view its published
version; everyone else is refused (403 for a missing permission, 404 for a process they may not see), and a
refused call changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.services.models import Service
from onewindow.workflow.models import DefinitionStatus, ProcessDefinition
from onewindow.workflow.tests.factories import QYKB_BPMN, published_definition

pytestmark = pytest.mark.django_db

KEY = "QYKB_T"

# A small model with diagram interchange (bpmn-js can draw it): two user tasks in lane TDEPT.
REVIEW_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" \
xmlns:di="http://www.omg.org/spec/DD/20100524/DI" \
xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_review" \
targetNamespace="https://onewindow.example/processes">
  <bpmn:collaboration id="collab_review">
    <bpmn:participant id="participant_review" name="审查 / Review" processRef="review_process" />
  </bpmn:collaboration>
  <bpmn:process id="review_process" isExecutable="true">
    <bpmn:laneSet id="lanes_review">
      <bpmn:lane id="lane_tdept" name="TDEPT">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>check</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="受理">
      <bpmn:outgoing>flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="review" name="初审">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="name_en" value="First review" />
          <spiffworkflow:property name="due" value="WD3" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_1</bpmn:incoming>
      <bpmn:outgoing>flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="check" name="复核">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="name_en" value="Second check" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_2</bpmn:incoming>
      <bpmn:outgoing>flow_3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end" name="办结">
      <bpmn:incoming>flow_3</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="flow_2" sourceRef="review" targetRef="check" />
    <bpmn:sequenceFlow id="flow_3" sourceRef="check" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram_review">
    <bpmndi:BPMNPlane id="plane_review" bpmnElement="collab_review">
      <bpmndi:BPMNShape id="participant_review_di" bpmnElement="participant_review" isHorizontal="true">
        <dc:Bounds x="100" y="60" width="640" height="200" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_tdept_di" bpmnElement="lane_tdept" isHorizontal="true">
        <dc:Bounds x="130" y="60" width="610" height="200" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="182" y="142" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="review_di" bpmnElement="review">
        <dc:Bounds x="270" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="check_di" bpmnElement="check">
        <dc:Bounds x="430" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="602" y="142" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_1_di" bpmnElement="flow_1">
        <di:waypoint x="218" y="160" />
        <di:waypoint x="270" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_2_di" bpmnElement="flow_2">
        <di:waypoint x="370" y="160" />
        <di:waypoint x="430" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_3_di" bpmnElement="flow_3">
        <di:waypoint x="530" y="160" />
        <di:waypoint x="602" y="160" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

BROKEN_BPMN = QYKB_BPMN.replace('name="TAX"', 'name="NOSUCH"').replace(
    'outcome == "approve"', "().__class__.__base__.__subclasses__()"
)


@pytest.fixture
def versions(handlers: dict[str, User], qykb_service: Service, role_users: dict[str, Any]) -> Any:
    """QYKB_T (owned by TDEPT, lanes TDEPT, PSB, TAX, HRSS): version 1 published, version 2 a draft."""
    admin = role_users["department_admin"]
    published = published_definition(KEY, QYKB_BPMN, process_id="qykb_test", created_by=admin)
    draft = published_definition(KEY, QYKB_BPMN, process_id="qykb_test", version=2, created_by=admin)
    ProcessDefinition.objects.filter(pk=draft.pk).update(
        status=DefinitionStatus.DRAFT, published_at=None, published_by=None
    )
    draft.refresh_from_db()
    return published, draft


def signed_in_staff(role: Role, department_code: str, username: str) -> User:
    """A staff account with a confirmed TOTP device, so ``client_for`` passes the second factor."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = staff_user(role, department_code=department_code, username=username)
    TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    return user


def _state() -> list[tuple[Any, ...]]:
    return list(ProcessDefinition.objects.order_by("key", "version").values_list("key", "version", "status"))


def _client(role: str, role_users: dict[str, Any], client_for: Any) -> Client:
    return Client() if role == "anonymous" else client_for(role_users[role])


def _post_json(client: Client, url: str, payload: Any = None) -> Any:
    return client.post(
        url,
        data=json.dumps(payload) if payload is not None else "",
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )


# --- The list of processes ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_process_list_by_role(role: str, versions: Any, role_users: dict[str, Any], client_for: Any) -> None:
    # Given QYKB_T with a published version 1 and a draft version 2
    # When each role opens the list of process models
    response = _client(role, role_users, client_for).get("/admin/processes/")
    # Then the owning department's admin sees every version, a TDEPT handler the published one (view only)
    if role == "department_admin":
        assert response.status_code == 200
        page = response.content.decode()
        assert 'id="process-QYKB_T"' in page
        assert "/admin/processes/QYKB_T/versions/1/" in page
        assert "/admin/processes/QYKB_T/versions/2/" in page
        assert "/admin/processes/QYKB_T/editor/" in page
        assert versions[0].sha256[:12] in page
    elif role == "department_handler":
        assert response.status_code == 200
        page = response.content.decode()
        assert "/admin/processes/QYKB_T/versions/1/" in page
        assert "/admin/processes/QYKB_T/versions/2/" not in page
        assert "/admin/processes/QYKB_T/editor/" not in page
        assert "/admin/processes/upload/" not in page
    elif role == "anonymous":
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == 403


def test_list_shows_a_services_key_without_versions_to_its_admin(
    qykb_service: Service, role_users: dict[str, Any], client_for: Any
) -> None:
    # Given a TDEPT service naming QYKB_T and no process version yet
    # When TDEPT's admin opens the list
    page = client_for(role_users["department_admin"]).get("/admin/processes/").content.decode()
    # Then the key is there, ready for its first version
    assert 'id="process-QYKB_T"' in page
    assert "/admin/processes/upload/?key=QYKB_T" in page


def test_another_departments_admin_only_views_a_model_their_lane_is_in(
    versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    # Given TAX's admin (TAX is a lane of QYKB_T, owned by TDEPT) and an admin of a department not in it
    tax_admin = signed_in_staff(Role.DEPARTMENT_ADMIN, "TAX", "a_tax")
    other_admin = signed_in_staff(Role.DEPARTMENT_ADMIN, "OTHER", "a_other")
    tax, other = client_for(tax_admin), client_for(other_admin)
    before = _state()
    # When they look at the process and try to change it
    # Then TAX's admin sees the published version, not the draft, and may not edit or publish
    assert tax.get("/admin/processes/QYKB_T/versions/1/").status_code == 200
    assert tax.get("/admin/processes/QYKB_T/versions/2/").status_code == 404
    assert tax.get("/admin/processes/QYKB_T/editor/").status_code == 403
    assert tax.post("/admin/processes/QYKB_T/versions/2/publish/").status_code == 404
    assert _post_json(tax, "/admin/processes/QYKB_T/editor/save/", {"bpmn_xml": QYKB_BPMN}).status_code == 403
    # And the other department's admin does not even learn that it exists
    assert 'id="process-QYKB_T"' not in other.get("/admin/processes/").content.decode()
    assert other.get("/admin/processes/QYKB_T/versions/1/").status_code == 404
    assert other.get("/admin/processes/QYKB_T/editor/").status_code == 404
    assert (
        _post_json(other, "/admin/processes/QYKB_T/editor/save/", {"bpmn_xml": QYKB_BPMN}).status_code == 404
    )
    assert _state() == before


# --- A version: viewer, download, publish ---------------------------------------------------------------


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_version_page_and_download_by_role(
    role: str, versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    client = _client(role, role_users, client_for)
    # When each role opens the published version 1 and the draft version 2, and downloads version 1
    published_page = client.get("/admin/processes/QYKB_T/versions/1/")
    draft_page = client.get("/admin/processes/QYKB_T/versions/2/")
    download = client.get("/admin/processes/QYKB_T/versions/1/bpmn/")
    statuses = (published_page.status_code, draft_page.status_code, download.status_code)
    if role == "department_admin":
        assert statuses == (200, 200, 200)
        draft = draft_page.content.decode()
        assert 'action="/admin/processes/QYKB_T/versions/2/publish/"' in draft
        assert "/admin/processes/QYKB_T/editor/?version=2" in draft
        assert 'data-bpmn-url="/admin/processes/QYKB_T/versions/2/bpmn/"' in draft
        assert "/publish/" not in published_page.content.decode()
    elif role == "department_handler":
        # A handler of a department in the model views the published version only, without actions
        assert statuses == (200, 404, 200)
        page = published_page.content.decode()
        assert "/publish/" not in page
        assert "/editor/" not in page
    elif role == "anonymous":
        assert statuses == (302, 302, 302)
    else:
        assert statuses == (403, 403, 403)
    if download.status_code == 200:
        assert download["Content-Type"] == "application/xml; charset=utf-8"
        assert download["Content-Disposition"] == 'attachment; filename="QYKB_T-v1.bpmn"'
        assert download.content.decode() == QYKB_BPMN


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_publish_by_role(role: str, versions: Any, role_users: dict[str, Any], client_for: Any) -> None:
    client = _client(role, role_users, client_for)
    before = _state()
    # When each role posts "publish" for the draft version 2
    response = client.post("/admin/processes/QYKB_T/versions/2/publish/")
    if role == "department_admin":
        # Then only the owning department's admin publishes it; version 1 is retired
        assert response.status_code == 302
        assert response["Location"] == "/admin/processes/QYKB_T/versions/2/"
        assert _state() == [(KEY, 1, DefinitionStatus.RETIRED), (KEY, 2, DefinitionStatus.PUBLISHED)]
        published = ProcessDefinition.objects.get(key=KEY, version=2)
        assert published.published_by == role_users["department_admin"]
        return
    # And every other role is refused and nothing changes
    expected = 302 if role == "anonymous" else 403
    assert response.status_code == expected
    assert _state() == before


def test_publish_from_the_editor_answers_json(
    versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["department_admin"])
    # When the editor publishes the draft with fetch
    response = _post_json(client, "/admin/processes/QYKB_T/versions/2/publish/")
    # Then it gets JSON, and publishing it again is a 409 with a bilingual refusal
    assert response.status_code == 200
    body = response.json()
    assert (body["key"], body["version"], body["status"], body["url"]) == (
        KEY,
        2,
        "published",
        "/admin/processes/QYKB_T/versions/2/",
    )
    again = _post_json(client, "/admin/processes/QYKB_T/versions/2/publish/")
    assert again.status_code == 409
    assert again.json()["code"] == "process_not_draft"
    assert again.json()["message_zh"]
    assert again.json()["message_en"]


def test_publishing_a_published_version_from_the_page_shows_the_refusal(
    versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["department_admin"])
    response = client.post("/admin/processes/QYKB_T/versions/1/publish/", follow=True)
    assert response.status_code == 200
    assert "不是草稿" in response.content.decode()
    assert _state() == [(KEY, 1, DefinitionStatus.PUBLISHED), (KEY, 2, DefinitionStatus.DRAFT)]


# --- Upload --------------------------------------------------------------------------------------------


def _upload(client: Client, xml: str, key: str = KEY) -> Any:
    return client.post(
        "/admin/processes/upload/",
        {
            "key": key,
            "department_code": "TDEPT",
            "bpmn_file": SimpleUploadedFile("model.bpmn", xml.encode(), content_type="application/xml"),
        },
    )


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_upload_by_role(role: str, versions: Any, role_users: dict[str, Any], client_for: Any) -> None:
    client = _client(role, role_users, client_for)
    before = _state()
    # When each role opens the upload page and uploads a valid model
    page = client.get("/admin/processes/upload/?key=QYKB_T")
    response = _upload(client, QYKB_BPMN)
    if role == "department_admin":
        # Then the owning department's admin gets version 3 as a draft
        assert page.status_code == 200
        assert 'value="QYKB_T"' in page.content.decode()
        assert response.status_code == 302
        assert response["Location"] == "/admin/processes/QYKB_T/versions/3/"
        assert _state() == [*before, (KEY, 3, DefinitionStatus.DRAFT)]
        created = ProcessDefinition.objects.get(key=KEY, version=3)
        assert (created.created_by, created.department_code) == (role_users["department_admin"], "TDEPT")
        return
    # And everyone else is refused, with nothing saved
    assert (page.status_code, response.status_code) == ((302, 302) if role == "anonymous" else (403, 403))
    assert _state() == before


def test_upload_lists_every_problem_with_an_error_summary(
    versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["department_admin"])
    before = _state()
    # When the admin uploads a model with an unknown lane and an unsafe gateway condition
    response = _upload(client, BROKEN_BPMN)
    # Then the page answers 422 with an error summary linking to the file input, one entry per problem
    assert response.status_code == 422
    page = response.content.decode()
    assert 'class="govuk-error-summary"' in page
    assert page.count('<li><a href="#f-bpmn_file">') >= 2
    assert "NOSUCH" in page
    assert "govuk-file-upload--error" in page
    assert _state() == before


def test_upload_in_english_shows_english_problems(
    versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["department_admin"])
    client.cookies["django_language"] = "en"
    response = _upload(client, BROKEN_BPMN)
    assert response.status_code == 422
    assert "does not exist" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "anchor", "message"),
    [
        ({"key": "", "department_code": "TDEPT"}, "#f-key", "请填写流程标识"),
        ({"key": KEY, "department_code": "TDEPT"}, "#f-bpmn_file", "请选择 BPMN 模型文件"),
    ],
)
def test_upload_requires_a_key_and_a_file(
    data: dict[str, str],
    anchor: str,
    message: str,
    versions: Any,
    role_users: dict[str, Any],
    client_for: Any,
) -> None:
    client = client_for(role_users["department_admin"])
    before = _state()
    response = client.post("/admin/processes/upload/", data)
    assert response.status_code == 422
    page = response.content.decode()
    assert f'<a href="{anchor}">' in page
    assert message in page
    assert _state() == before


def test_upload_refuses_a_file_that_is_not_utf8(
    versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["department_admin"])
    response = client.post(
        "/admin/processes/upload/",
        {"key": KEY, "bpmn_file": SimpleUploadedFile("model.bpmn", "<模型/>".encode("gb18030"))},
    )
    assert response.status_code == 422
    assert "UTF-8" in response.content.decode()
    assert ProcessDefinition.objects.count() == 2


# --- The editor page and its JSON endpoints ----------------------------------------------------------


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_editor_page_by_role(role: str, versions: Any, role_users: dict[str, Any], client_for: Any) -> None:
    client = _client(role, role_users, client_for)
    latest = client.get("/admin/processes/QYKB_T/editor/")
    from_first = client.get("/admin/processes/QYKB_T/editor/?version=1")
    if role == "department_admin":
        assert (latest.status_code, from_first.status_code) == (200, 200)
        page = latest.content.decode()
        assert 'data-bpmn-url="/admin/processes/QYKB_T/versions/2/bpmn/"' in page
        assert 'data-save-url="/admin/processes/QYKB_T/editor/save/"' in page
        assert 'data-validate-url="/admin/processes/QYKB_T/editor/validate/"' in page
        assert 'name="csrfmiddlewaretoken"' in page
        assert "/static/workflow/dist/process_editor.js" in page
        # Without JavaScript: download and upload instead
        assert "/admin/processes/upload/?key=QYKB_T" in page
        assert 'data-bpmn-url="/admin/processes/QYKB_T/versions/1/bpmn/"' in from_first.content.decode()
        assert client.get("/admin/processes/QYKB_T/editor/?version=9").status_code == 404
    elif role == "anonymous":
        assert (latest.status_code, from_first.status_code) == (302, 302)
    else:
        # A handler may view the published model but not edit it; other roles have no access at all
        assert (latest.status_code, from_first.status_code) == (403, 403)


@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_editor_validate_and_save_by_role(
    role: str, versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    client = _client(role, role_users, client_for)
    before = _state()
    # When each role validates and saves a valid model through the editor's endpoints
    validated = _post_json(client, "/admin/processes/QYKB_T/editor/validate/", {"bpmn_xml": QYKB_BPMN})
    saved = _post_json(client, "/admin/processes/QYKB_T/editor/save/", {"bpmn_xml": QYKB_BPMN})
    if role == "department_admin":
        assert validated.status_code == 200
        assert validated.json()["valid"] is True
        assert validated.json()["problems"] == []
        assert saved.status_code == 201
        body = saved.json()
        assert (body["key"], body["version"], body["status"]) == (KEY, 3, "draft")
        assert body["url"] == "/admin/processes/QYKB_T/versions/3/"
        assert body["publish_url"] == "/admin/processes/QYKB_T/versions/3/publish/"
        assert _state() == [*before, (KEY, 3, DefinitionStatus.DRAFT)]
        return
    expected = {"anonymous": 401}.get(role, 403)
    assert (validated.status_code, saved.status_code) == (expected, expected)
    assert saved.json()["code"] in {"permission_denied", "not_authenticated"}
    assert saved.json()["message_zh"]
    assert saved.json()["message_en"]
    assert _state() == before


def test_editor_validate_lists_every_problem_bilingually(
    versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["department_admin"])
    # When the admin validates a model with an unknown lane and an unsafe condition
    response = _post_json(client, "/admin/processes/QYKB_T/editor/validate/", {"bpmn_xml": BROKEN_BPMN})
    # Then every problem comes back with its code and both languages, and nothing is saved
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    codes = {problem["code"] for problem in body["problems"]}
    assert "unknown_department" in codes
    assert any(code.startswith("unsafe_expression") for code in codes)
    assert all(problem["message_zh"] and problem["message_en"] for problem in body["problems"])
    assert ProcessDefinition.objects.count() == 2


def test_editor_save_refuses_an_invalid_model(
    versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["department_admin"])
    before = _state()
    response = _post_json(client, "/admin/processes/QYKB_T/editor/save/", {"bpmn_xml": BROKEN_BPMN})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "process_invalid"
    assert len(body["problems"]) >= 2
    assert _state() == before


@pytest.mark.parametrize("payload", [None, {"xml": "x"}, {"bpmn_xml": 3}, ["bpmn_xml"]])
def test_editor_endpoints_need_json_with_bpmn_xml(
    payload: Any, versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["department_admin"])
    for url in ("/admin/processes/QYKB_T/editor/validate/", "/admin/processes/QYKB_T/editor/save/"):
        response = _post_json(client, url, payload)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_request"
    assert ProcessDefinition.objects.count() == 2


def test_editor_endpoints_need_the_csrf_token(
    versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["department_admin"])
    client.handler.enforce_csrf_checks = True
    response = _post_json(client, "/admin/processes/QYKB_T/editor/save/", {"bpmn_xml": QYKB_BPMN})
    assert response.status_code == 403
    assert ProcessDefinition.objects.count() == 2


def test_editor_for_a_key_without_versions_starts_empty(
    qykb_service: Service, role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["department_admin"])
    page = client.get("/admin/processes/QYKB_T/editor/").content.decode()
    assert "data-bpmn-url" not in page
    assert "data-save-url" in page


# --- DMN decision tables go with the model ---------------------------------------------------------


def _dmn(cell: str = "&lt;= 100") -> str:
    from onewindow.workflow.tests.test_dmn import DMN

    return DMN.replace("CELL_ONE", cell)


def _eligibility_bpmn() -> str:
    from onewindow.workflow.tests.test_dmn import BPMN

    return BPMN.replace("DECISION", "eligibility")


def _upload_with_dmn(client: Client, dmn: str) -> Any:
    return client.post(
        "/admin/processes/upload/",
        {
            "key": "ELIG_T",
            "department_code": "TDEPT",
            "bpmn_file": SimpleUploadedFile("model.bpmn", _eligibility_bpmn().encode()),
            "dmn_file": SimpleUploadedFile("rules.dmn", dmn.encode()),
        },
    )


def test_upload_with_decision_tables_and_edit_keeps_them(role_users: dict[str, Any], client_for: Any) -> None:
    client = client_for(role_users["department_admin"])
    # When the admin uploads a model with its DMN decision tables
    response = _upload_with_dmn(client, _dmn())
    # Then version 1 has both, and its page offers the DMN for download
    assert response["Location"] == "/admin/processes/ELIG_T/versions/1/"
    first = ProcessDefinition.objects.get(key="ELIG_T", version=1)
    assert first.dmn_xml == _dmn()
    assert "/admin/processes/ELIG_T/versions/1/dmn/" in client.get(response["Location"]).content.decode()
    download = client.get("/admin/processes/ELIG_T/versions/1/dmn/")
    assert download.content.decode() == _dmn()
    assert download["Content-Disposition"] == 'attachment; filename="ELIG_T-v1.dmn"'
    # And a version saved from the editor, started from version 1, keeps the decision tables
    editor = client.get("/admin/processes/ELIG_T/editor/?version=1").content.decode()
    assert 'data-from-version="1"' in editor
    payload = {"bpmn_xml": _eligibility_bpmn(), "from_version": 1}
    assert _post_json(client, "/admin/processes/ELIG_T/editor/validate/", payload).json()["valid"] is True
    saved = _post_json(client, "/admin/processes/ELIG_T/editor/save/", payload)
    assert saved.status_code == 201
    assert ProcessDefinition.objects.get(key="ELIG_T", version=2).dmn_xml == _dmn()
    # But a version that does not exist is refused
    unknown = _post_json(client, "/admin/processes/ELIG_T/editor/save/", {**payload, "from_version": 7})
    assert unknown.status_code == 400
    assert ProcessDefinition.objects.filter(key="ELIG_T").count() == 2


def test_upload_shows_decision_table_problems_at_the_dmn_input(
    role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["department_admin"])
    response = _upload_with_dmn(client, _dmn("().__class__"))
    assert response.status_code == 422
    assert '<li><a href="#f-dmn_file">' in response.content.decode()
    assert ProcessDefinition.objects.count() == 0


def test_a_version_without_decision_tables_has_no_dmn_download(
    versions: Any, role_users: dict[str, Any], client_for: Any
) -> None:
    client = client_for(role_users["department_admin"])
    assert client.get("/admin/processes/QYKB_T/versions/1/dmn/").status_code == 404
    assert "/dmn/" not in client.get("/admin/processes/QYKB_T/versions/1/").content.decode()
