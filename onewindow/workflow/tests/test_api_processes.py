"""Process versions through the API: upload (JSON or a file), validate, publish (issue #4 items 1 and 6).

Only a department administrator of the owning department manages a process; uploads are validated first
and refused with one bilingual error per problem (unknown lanes, script tasks, unsafe expressions — the
``().__class__.__base__.__subclasses__()`` escape among them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from onewindow.accounts.models import User
from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.services.models import Service
from onewindow.workflow.models import ProcessDefinition
from onewindow.workflow.tests.factories import QYKB_BPMN

pytestmark = pytest.mark.django_db

ESCAPE = "().__class__.__base__.__subclasses__()"
BAD_BPMN = (
    QYKB_BPMN.replace('outcome == "approve"', ESCAPE)
    .replace('name="HRSS"', 'name="NOSUCHDEPT"')
    .replace(
        '<bpmn:endEvent id="end_rejected">',
        '<bpmn:scriptTask id="evil"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>'
        '<bpmn:endEvent id="end_rejected">',
    )
)
VERSIONS_KEYS = {"key", "version", "status", "department_code", "sha256", "created_at", "published_at"}


@pytest.fixture
def admin_client(role_users: dict[str, Any], api_token_for: Callable[[object], str]) -> Client:
    """The TDEPT department administrator (TDEPT owns the QYKBT service and its process QYKB_T)."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token_for(role_users['department_admin'])}")


@pytest.fixture
def other_admin(handlers: dict[str, User], api_token_for: Callable[[object], str]) -> Client:
    user = staff_user(Role.DEPARTMENT_ADMIN, department_code="PSB", username="psb_admin")
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token_for(user)}")


def _post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, body, content_type="application/json")


def test_upload_as_json_and_as_a_file_then_publish(
    admin_client: Client, qykb_service: Service, qykb_definition: ProcessDefinition
) -> None:
    # When the TDEPT admin uploads the model as JSON, then as a .bpmn file
    first = _post(admin_client, "/api/v1/processes/QYKB_T/versions", {"bpmn_xml": QYKB_BPMN})
    assert first.status_code == 201, first.content
    assert set(first.json()) == VERSIONS_KEYS
    assert (first.json()["version"], first.json()["status"], first.json()["department_code"]) == (
        2,
        "draft",
        "TDEPT",
    )
    assert len(first.json()["sha256"]) == 64
    upload = SimpleUploadedFile("qykb.bpmn", QYKB_BPMN.encode(), content_type="application/xml")
    second = admin_client.post("/api/v1/processes/QYKB_T/versions", {"file": upload})
    assert second.status_code == 201, second.content
    assert second.json()["version"] == 3

    # Then both drafts are listed with the published version 1, and one can be read with its XML
    listed = admin_client.get("/api/v1/processes").json()
    assert [(row["version"], row["status"]) for row in listed["items"]] == [
        (3, "draft"),
        (2, "draft"),
        (1, "published"),
    ]
    detail = admin_client.get("/api/v1/processes/QYKB_T/versions/2").json()
    assert detail["bpmn_xml"] == QYKB_BPMN

    # When version 2 is published, version 1 is retired; publishing it again is a conflict
    published = _post(admin_client, "/api/v1/processes/QYKB_T/versions/2/publish", {})
    assert published.status_code == 200, published.content
    assert published.json()["status"] == "published"
    assert published.json()["published_at"]
    statuses = dict(ProcessDefinition.objects.filter(key="QYKB_T").values_list("version", "status"))
    assert statuses == {1: "retired", 2: "published", 3: "draft"}
    again = _post(admin_client, "/api/v1/processes/QYKB_T/versions/2/publish", {})
    assert (again.status_code, again.json()["code"]) == (409, "process_not_draft")


def test_an_invalid_model_is_refused_with_one_bilingual_error_per_problem(
    admin_client: Client, qykb_service: Service, qykb_definition: ProcessDefinition
) -> None:
    before = ProcessDefinition.objects.count()
    response = _post(admin_client, "/api/v1/processes/QYKB_T/versions", {"bpmn_xml": BAD_BPMN})
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "process_invalid"
    assert len(body["errors"]) >= 3
    for error in body["errors"]:
        assert error["field"] == "bpmn_xml"
        assert error["code"]
        assert error["message_zh"]
        assert error["message_en"]
    messages = " ".join(error["message_en"] for error in body["errors"])
    assert "evil" in messages
    assert "NOSUCHDEPT" in messages
    assert ProcessDefinition.objects.count() == before
    # Not XML at all, and a file that is not UTF-8, are refused too
    junk = _post(admin_client, "/api/v1/processes/QYKB_T/versions", {"bpmn_xml": "not xml"})
    assert (junk.status_code, junk.json()["code"]) == (422, "process_invalid")
    latin = SimpleUploadedFile("x.bpmn", "<é/>".encode("latin-1"))
    refused = admin_client.post("/api/v1/processes/QYKB_T/versions", {"file": latin})
    assert (refused.status_code, refused.json()["code"]) == (422, "process_not_utf8")
    missing = admin_client.post("/api/v1/processes/QYKB_T/versions", {"other": "x"})
    assert (missing.status_code, missing.json()["code"]) == (422, "invalid_request")
    assert ProcessDefinition.objects.count() == before


def test_validate_answers_200_with_every_problem(
    admin_client: Client, qykb_service: Service, handlers: dict[str, User]
) -> None:
    good = _post(admin_client, "/api/v1/processes/validate", {"bpmn_xml": QYKB_BPMN})
    assert good.status_code == 200
    assert good.json() == {"valid": True, "problems": []}
    bad = _post(admin_client, "/api/v1/processes/validate", {"bpmn_xml": BAD_BPMN})
    assert bad.status_code == 200
    body = bad.json()
    assert body["valid"] is False
    assert all(
        set(problem) == {"field", "code", "message_zh", "message_en", "element_id"}
        for problem in body["problems"]
    )
    elements = {problem["element_id"] for problem in body["problems"]}
    assert {"evil", "f_ok", "lane_hrss"} <= elements
    assert ProcessDefinition.objects.count() == 0


def test_another_departments_admin_cannot_see_or_change_the_process(
    other_admin: Client, qykb_service: Service, qykb_definition: ProcessDefinition
) -> None:
    before = list(ProcessDefinition.objects.values_list("pk", "status"))
    assert other_admin.get("/api/v1/processes").json() == {"items": [], "count": 0}
    assert other_admin.get("/api/v1/processes/QYKB_T/versions/1").status_code == 404
    upload = _post(other_admin, "/api/v1/processes/QYKB_T/versions", {"bpmn_xml": QYKB_BPMN})
    assert upload.status_code == 403
    publish = _post(other_admin, "/api/v1/processes/QYKB_T/versions/1/publish", {})
    assert (publish.status_code, publish.json()["code"]) == (404, "process_not_found")
    assert list(ProcessDefinition.objects.values_list("pk", "status")) == before
