"""Editing a service's OpenAPI document (docs/exchange.md "Pages"): the rules a document must meet, the action
(row-locked, audited with the document's SHA-256, never the document), discovery serving the new document at
once, built-in services refused (409, no button), and the page and the API endpoint for every role (a
refusal changes nothing).

GB/T 22239-2019 §8.1.4.2 (access control on management functions), §8.1.4.3 (management actions audited).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.exchange import actions, protocol
from onewindow.exchange.models import Service
from onewindow.exchange.openapi_document import MAX_BYTES, canonical_bytes, openapi_document_check
from onewindow.exchange.tests.conftest import World

pytestmark = pytest.mark.django_db

ALLOWED = {"department_admin", "system_admin"}


def _document(title: str = "学校基本信息查询", **extra: Any) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "2.0"},
        "paths": {
            "/services/school-basic": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Query"}}}
                    },
                    "responses": {"200": {"description": "学校信息"}},
                }
            }
        },
        "components": {"schemas": {"Query": {"type": "object"}}},
        **extra,
    }


@pytest.fixture
def http_service(world: World) -> Service:
    """An HTTP service of TDEPT's subsystem: TDEPT's administrator (department_admin) may change it."""
    from onewindow.catalog.tests.conftest import create, metadata

    resource = create("TDEPT", **metadata())
    return actions.service_register(
        acting_user=None,
        provider=world.consumer,
        code="school-basic",
        name="学校基本信息查询",
        resource_code=resource.code,
        kind="http",
        endpoint_url="https://school.example/exchange",
    )


def _service_id(service: Service) -> str:
    return protocol.service_path(service.provider.department.credit_code, service.provider.code, service.code)


def _discovered(service: Service) -> Any:
    response = Client().get(f"/api/v1/exchange/meta/services/{_service_id(service)}/openapi")
    assert response.status_code == 200
    return response.json()


def _state() -> dict[str, Any]:
    return {
        "services": list(Service.objects.order_by("pk").values_list("pk", "openapi")),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied")
            .order_by("seq")
            .values_list("seq", "action")
        ),
    }


# --- The rules ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "openapi_required"),
        ('{"openapi": "3.1.0",\n  "info": }', "openapi_invalid_json"),
        ("[1, 2]", "openapi_not_object"),
        ('{"openapi": NaN}', "openapi_invalid_json"),
        (json.dumps({**_document(), "openapi": "2.0"}), "openapi_version_unsupported"),
        (json.dumps({**_document(), "openapi": "3.2.0"}), "openapi_version_unsupported"),
        (json.dumps({**_document(), "openapi": 3.1}), "openapi_version_unsupported"),
        (json.dumps({**_document(), "info": {"version": "1"}}), "openapi_title_missing"),
        (json.dumps({**_document(), "info": {"title": "  ", "version": "1"}}), "openapi_title_missing"),
        (json.dumps({**_document(), "info": {"title": "x", "version": 1}}), "openapi_version_missing"),
        (json.dumps({k: v for k, v in _document().items() if k != "paths"}), "openapi_paths_missing"),
        (json.dumps({**_document(), "paths": []}), "openapi_paths_missing"),
        (
            json.dumps(_document(components={"schemas": {"Q": {"$ref": "https://evil.example/q.json"}}})),
            "openapi_external_ref",
        ),
        (
            json.dumps(_document(components={"schemas": {"Q": {"$ref": "other.json#/Q"}}})),
            "openapi_external_ref",
        ),
        (json.dumps(_document(description="x" * MAX_BYTES)), "openapi_too_large"),
        ("[" * 5000 + "]" * 5000, "openapi_too_deep"),
        # what PostgreSQL's jsonb or UTF-8 cannot hold is refused, not a server error
        (json.dumps(_document(description="a\u0000b")), "openapi_invalid_json"),
        (json.dumps(_document()).replace('"2.0"', '"\\ud800"'), "openapi_invalid_json"),
        (json.dumps(_document())[:-1] + ', "x-big": 1e400}', "openapi_invalid_json"),
        ('{"openapi": ' + "9" * 5000 + "}", "openapi_invalid_json"),
        (json.dumps(_document(deep=json.loads("[" * 70 + "]" * 70))), "openapi_too_deep"),
    ],
)
def test_a_document_that_breaks_a_rule_is_refused_on_its_field(text: str, code: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        openapi_document_check(text)
    assert (refused.value.code, refused.value.field, refused.value.status) == (code, "document", 422)
    assert refused.value.message_zh
    assert refused.value.message_en


def test_a_json_error_says_where_in_both_languages() -> None:
    with pytest.raises(RuleViolation) as refused:
        openapi_document_check('{\n  "openapi": "3.1.0",\n  "info": }')
    assert refused.value.message_zh.startswith("第 3 行第 11 列：JSON 格式错误")
    assert refused.value.message_en.startswith("Line 3 column 11: invalid JSON")


@pytest.mark.parametrize("version", ["3.0.0", "3.0.3", "3.1.0", "3.1.1"])
def test_a_valid_document_is_accepted_as_text_or_object(version: str) -> None:
    document = {
        **_document(),
        "openapi": version,
        # a schema property named "$ref" is not a reference
        "x-note": {"properties": {"$ref": {"type": "string"}}},
    }
    assert openapi_document_check(json.dumps(document, ensure_ascii=False)) == document
    assert openapi_document_check(document) == document


# --- The action, discovery ----------------------------------------------------------------------------------


def test_the_new_document_is_served_at_once_and_audited_by_digest(
    http_service: Service, role_users: dict[str, Any]
) -> None:
    generated = _discovered(http_service)
    assert generated["info"]["title"] == "学校基本信息查询"
    document = _document("学校信息（第二版）")

    actions.service_openapi_set(
        acting_user=role_users["department_admin"], service=http_service, document=json.dumps(document)
    )

    assert _discovered(http_service) == document
    record = AuditRecord.objects.get(action="exchange.service_openapi_set")
    assert record.actor_username == "t_department_admin"
    assert record.details == {
        "service": _service_id(http_service),
        "sha256": hashlib.sha256(canonical_bytes(document)).hexdigest(),
        "bytes": len(canonical_bytes(document)),
    }
    assert "学校信息（第二版）" not in json.dumps(record.details, ensure_ascii=False)


def test_a_refused_document_changes_nothing(http_service: Service) -> None:
    actions.service_openapi_set(acting_user=None, service=http_service, document=_document())
    before = _state()
    with pytest.raises(RuleViolation):
        actions.service_openapi_set(acting_user=None, service=http_service, document="{}")
    assert _state() == before
    assert _discovered(http_service) == _document()


def test_changing_the_service_keeps_its_document(
    http_service: Service, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    actions.service_openapi_set(acting_user=None, service=http_service, document=_document())
    client = client_for(role_users["department_admin"])

    changed = client.post(
        f"/exchange/services/{_service_id(http_service)}/edit/",
        {
            "name": "学校基本信息查询（新）",
            "name_en": "Schools",
            "resource_code": http_service.resource_code,
            "kind": "http",
            "endpoint_url": "https://school.example/exchange/v2",
            "timeout_seconds": "5",
            "retries": "2",
        },
    )

    assert changed.status_code == 302, changed.content[:800]
    stored = Service.objects.get(pk=http_service.pk)
    assert (stored.name, stored.openapi) == ("学校基本信息查询（新）", _document())


def test_a_built_in_services_document_is_generated_and_not_editable(world: World) -> None:
    before = _state()
    with pytest.raises(RuleViolation) as refused:
        actions.service_openapi_set(acting_user=None, service=world.service, document=_document())
    assert (refused.value.code, refused.value.status) == ("service_openapi_builtin", 409)
    assert _state() == before


def test_another_departments_administrator_may_not_change_it(
    world: World, role_users: dict[str, Any]
) -> None:
    from django.core.exceptions import PermissionDenied

    amr_http = actions.service_register(
        acting_user=None,
        provider=world.provider,
        code="entity-http",
        name="法人查询（外部）",
        resource_code=world.service.resource_code,
        kind="http",
        endpoint_url="https://amr.example/exchange",
    )
    before = _state()
    with pytest.raises(PermissionDenied):
        actions.service_openapi_set(
            acting_user=role_users["department_admin"], service=amr_http, document=_document()
        )
    assert _state() == before
    assert AuditRecord.objects.filter(action="permission.denied").exists()


# --- The page -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_the_openapi_page_for_each_role(
    role: str,
    http_service: Service,
    role_users: dict[str, Any],
    client_for: Callable[[object], Client],
) -> None:
    client = Client() if role == "anonymous" else client_for(role_users[role])
    path = f"/exchange/services/{_service_id(http_service)}/openapi/"
    document = _document("页面保存的文档")
    for method in ("get", "post"):
        before = _state()
        denied_before = AuditRecord.objects.filter(action="permission.denied").count()

        response = (
            client.get(path)
            if method == "get"
            else client.post(path, {"document": json.dumps(document, ensure_ascii=False)})
        )

        if role in ALLOWED:
            assert response.status_code == (200 if method == "get" else 302), response.content[:800]
            continue
        if role == "anonymous":
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
        else:
            assert response.status_code == 403, role
            assert AuditRecord.objects.filter(action="permission.denied").count() == denied_before + 1
        assert _state() == before, method
    if role in ALLOWED:
        assert Service.objects.get(pk=http_service.pk).openapi == document
        assert _discovered(http_service) == document


def test_the_page_shows_errors_next_to_the_field_in_the_pages_language(
    http_service: Service, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["department_admin"])
    service_page = f"/exchange/services/{_service_id(http_service)}/"
    path = f"{service_page}openapi/"

    # the service page links to the form, which starts from the generated document
    assert f'href="{path}"' in client.get(service_page).content.decode()
    form = client.get(path).content.decode()
    assert "&quot;openapi&quot;: &quot;3.1.0&quot;" in form
    assert 'for="id_document"' in form

    broken = client.post(path, {"document": '{\n  "openapi": "3.1.0",\n  "info": }'})
    assert broken.status_code == 422
    page = broken.content.decode()
    assert "第 3 行第 11 列：JSON 格式错误" in page
    assert 'aria-describedby="id_document-error"' in page
    assert 'href="#id_document"' in page  # the error summary links to the field
    assert Service.objects.get(pk=http_service.pk).openapi == {}

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    external = _document(components={"schemas": {"Q": {"$ref": "https://evil.example/q.json"}}})
    english = client.post(path, {"document": json.dumps(external)}).content.decode()
    assert "A $ref may only point inside the document" in english

    assert client.post(path, {"document": json.dumps(_document())}).status_code == 302
    shown = client.get(service_page).content.decode()
    assert hashlib.sha256(canonical_bytes(_document())).hexdigest() in shown


def test_a_built_in_service_has_no_button_and_its_page_says_why(
    world: World, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["system_admin"])
    service_page = f"/exchange/services/{world.service_path}/"
    assert "/openapi/" not in client.get(service_page).content.decode().replace('/openapi"', "")
    before = _state()
    for response in (
        client.get(f"{service_page}openapi/"),
        client.post(f"{service_page}openapi/", {"document": json.dumps(_document())}),
    ):
        assert response.status_code == 409
        assert "service_openapi_builtin" in response.content.decode()
        assert "<textarea" not in response.content.decode()
    assert _state() == before


def test_the_page_is_a_csrf_protected_post(
    http_service: Service, role_users: dict[str, Any], client_for: Callable[[object], Client]
) -> None:
    client = client_for(role_users["system_admin"])
    client.handler.enforce_csrf_checks = True
    path = f"/exchange/services/{_service_id(http_service)}/openapi/"
    assert client.post(path, {"document": json.dumps(_document())}).status_code == 403
    assert Service.objects.get(pk=http_service.pk).openapi == {}


# --- The API ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_the_openapi_endpoint_for_each_role(
    role: str,
    http_service: Service,
    role_users: dict[str, Any],
    api_token_for: Callable[[object], str],
) -> None:
    client = (
        Client()
        if role == "anonymous"
        else Client(headers={"authorization": f"Bearer {api_token_for(role_users[role])}"})
    )
    url = f"/api/v1/exchange/services/{_service_id(http_service)}/openapi"
    before = _state()

    response = client.put(url, {"document": _document()}, content_type="application/json")

    if role in ALLOWED:
        assert response.status_code == 200, response.content
        assert response.json() == {
            "service": _service_id(http_service),
            "sha256": hashlib.sha256(canonical_bytes(_document())).hexdigest(),
            "bytes": len(canonical_bytes(_document())),
            "openapi_url": f"/api/v1/exchange/meta/services/{_service_id(http_service)}/openapi",
        }
        assert _discovered(http_service) == _document()
        return
    assert response.status_code == (401 if role == "anonymous" else 403), response.content
    assert response.json()["message_zh"]
    assert response.json()["message_en"]
    assert _state() == before


def test_the_endpoint_refuses_bad_documents_and_built_in_services(
    world: World, http_service: Service, role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    client = Client(headers={"authorization": f"Bearer {api_token_for(role_users['system_admin'])}"})
    url = f"/api/v1/exchange/services/{_service_id(http_service)}/openapi"
    before = _state()

    broken = client.put(url, {"document": '{"openapi": '}, content_type="application/json")
    assert (broken.status_code, broken.json()["code"], broken.json()["field"]) == (
        422,
        "openapi_invalid_json",
        "document",
    )
    bad_version = client.put(
        url, {"document": {**_document(), "openapi": "2.0"}}, content_type="application/json"
    )
    assert (bad_version.status_code, bad_version.json()["code"]) == (422, "openapi_version_unsupported")
    builtin = client.put(
        f"/api/v1/exchange/services/{world.service_path}/openapi",
        {"document": _document()},
        content_type="application/json",
    )
    assert (builtin.status_code, builtin.json()["code"]) == (409, "service_openapi_builtin")
    assert _state() == before
    # a JSON text is accepted as well as the object
    text = client.put(url, {"document": json.dumps(_document())}, content_type="application/json")
    assert text.status_code == 200


def test_the_endpoint_is_documented() -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/exchange/services/CN/GOV/{credit_code}/{subsystem}/{code}/openapi"][
        "put"
    ]
    assert operation["summary"]
    assert {"401", "403", "404", "409", "422"} <= set(operation["responses"])
