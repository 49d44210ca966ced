"""The seals API for every role, anonymously and as the department's administrator: the root certificate, the
revoked list and public keys are public; a department's seals, rotation, revocation and images are for its
administrators and system administrators; holders for its administrators only. A refused call answers
401/403 and changes nothing but the audit record of the refusal (GB/T 22239-2019 §8.1.4.2: access control by
role and object; Electronic Signature Law Art. 13 (2)).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from django.test import Client
from PIL import Image

from conftest import ALL_ROLES
from onewindow.accounts.models import User
from onewindow.audit.models import AuditRecord
from onewindow.crypto.sm2 import SM2PublicKey
from onewindow.seals.actions import seal_revoke, seal_sign
from onewindow.seals.models import Seal, SealHolder
from onewindow.seals.tests.conftest import HOLDER, staff_of

pytestmark = pytest.mark.django_db

BASE = "/api/v1/seals"
CANDIDATE = "t_candidate"


def _png() -> bytes:
    output = io.BytesIO()
    Image.new("RGBA", (300, 300), (200, 0, 0, 255)).save(output, format="PNG")
    return output.getvalue()


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    body: dict[str, Any] | None = None
    success: int = 200
    # Roles that succeed (besides none): the department's administrator and/or the system administrator.
    allowed: frozenset[str] = frozenset({"department_admin", "system_admin"})
    multipart: bool = False

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def _endpoints(seal: Seal) -> list[Endpoint]:
    return [
        Endpoint("get", f"{BASE}/departments/TDEPT"),
        Endpoint("post", f"{BASE}/departments/TDEPT/rotate", success=201),
        Endpoint("post", f"{BASE}/{seal.pk}/revoke", {"reason": "密钥泄露", "reason_code": "key_compromise"}),
        Endpoint("post", f"{BASE}/{seal.pk}/image", {"file": "png"}, multipart=True),
        Endpoint("get", f"{BASE}/departments/TDEPT/holders"),
        Endpoint(
            "post",
            f"{BASE}/departments/TDEPT/holders",
            {"username": CANDIDATE},
            success=201,
            allowed=frozenset({"department_admin"}),
        ),
        Endpoint(
            "delete",
            f"{BASE}/departments/TDEPT/holders/{HOLDER}",
            success=204,
            allowed=frozenset({"department_admin"}),
        ),
    ]


def _client(role: str, users: dict[str, Any], api_token_for: Callable[[object], str]) -> Client:
    if role == "anonymous":
        return Client()
    return Client(headers={"authorization": f"Bearer {api_token_for(users[role])}"})


def _call(client: Client, endpoint: Endpoint) -> Any:
    if endpoint.method == "get":
        return client.get(endpoint.path)
    if endpoint.method == "delete":
        return client.delete(endpoint.path)
    if endpoint.multipart:
        upload = io.BytesIO(_png())
        upload.name = "seal.png"
        return client.post(endpoint.path, {"file": upload})
    return client.post(endpoint.path, endpoint.body or {}, content_type="application/json")


def _state() -> dict[str, Any]:
    """What a seals endpoint may write: seals, holders, keys and audit records (refusals excepted)."""
    return {
        "seals": list(
            Seal.objects.order_by("pk").values_list("pk", "status", "version", "image_source", "revoked_at")
        ),
        "holders": list(SealHolder.objects.order_by("pk").values_list("pk", "user_id", "removed_at")),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied")
            .order_by("seq")
            .values_list("action", "object_id", "details")
        ),
    }


@pytest.fixture
def users(role_users: dict[str, Any], holder: User, department: Any) -> dict[str, Any]:
    staff_of(department, CANDIDATE)
    return role_users


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
@pytest.mark.parametrize("index", range(7))
def test_each_endpoint_for_each_role(
    role: str,
    index: int,
    users: dict[str, Any],
    seal: Seal,
    api_token_for: Callable[[object], str],
) -> None:
    endpoint = _endpoints(seal)[index]
    client = _client(role, users, api_token_for)
    before = _state()
    denials = AuditRecord.objects.filter(action="permission.denied").count()

    response = _call(client, endpoint)

    if role in endpoint.allowed:
        assert response.status_code == endpoint.success, (str(endpoint), response.content)
        assert _state() != before or endpoint.method == "get"
        return
    expected = 401 if role == "anonymous" else 403
    assert response.status_code == expected, (str(endpoint), role, response.content)
    assert response.json()["code"] in {"not_authenticated", "permission_denied"}
    assert _state() == before
    if role != "anonymous":
        assert AuditRecord.objects.filter(action="permission.denied").count() == denials + 1


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_the_public_endpoints_answer_everyone(
    role: str, users: dict[str, Any], seal: Seal, api_token_for: Callable[[object], str]
) -> None:
    seal_revoke(acting_user=None, seal=seal, reason="停用旧章", reason_code="superseded")
    client = _client(role, users, api_token_for)

    root = client.get(f"{BASE}/root-certificate")
    revoked = client.get(f"{BASE}/revoked")
    key = client.get(f"{BASE}/keys/{seal.sm2_key_fingerprint}")

    assert (root.status_code, revoked.status_code, key.status_code) == (200, 200, 200)
    assert root.json()["fingerprint_sha256"] == seal.authority.fingerprint_sha256
    assert root.json()["crl_path"] == "/seals/root-ca.crl"
    assert x509.load_pem_x509_certificate(root.json()["pem"].encode()).subject.rfc4514_string() == (
        "CN=OneWindow Root CA,O=OneWindow,C=CN"
    )
    (entry,) = revoked.json()
    assert entry == {
        "department_code": "TDEPT",
        "department_name": "测试部门",
        "version": 1,
        "certificate_serial": seal.certificate_serial,
        "key_fingerprint": seal.sm2_key_fingerprint,
        "revoked_at": entry["revoked_at"],
        "reason": "停用旧章",
        "reason_code": "superseded",
    }
    assert key.json()["status"] == "revoked"
    assert "key_ref" not in str(key.json())
    assert "db:" not in str(key.json())


def test_a_public_key_from_the_api_verifies_a_seal_signature(holder: User, seal: Seal) -> None:
    signature = seal_sign(holder, seal, b"signed JSON", purpose="offline verification")

    answer = Client().get(f"{BASE}/keys/{signature.key_fingerprint}").json()

    SM2PublicKey.from_pem(answer["sm2_public_key_pem"].encode()).verify(signature.value, b"signed JSON")
    assert answer["certificate_serial"] == seal.certificate_serial


def test_unknown_root_and_key_are_404(db: None) -> None:
    assert Client().get(f"{BASE}/root-certificate").status_code == 404
    assert Client().get(f"{BASE}/keys/{'0' * 64}").status_code == 404


def test_the_revoked_list_costs_one_query(seal: Seal, django_assert_num_queries: Any) -> None:
    for _ in range(3):
        seal_revoke(acting_user=None, seal=Seal.objects.filter(status="active").get(), reason="轮换测试")
        from onewindow.seals.actions import seal_rotate

        seal_rotate(acting_user=None, department=seal.department)

    with django_assert_num_queries(1):
        response = Client().get(f"{BASE}/revoked")
    assert len(response.json()) == 3


def test_the_administrator_rotates_revokes_and_manages_holders(
    users: dict[str, Any], seal: Seal, api_token_for: Callable[[object], str]
) -> None:
    client = _client("department_admin", users, api_token_for)

    rotated = client.post(f"{BASE}/departments/TDEPT/rotate")
    listed = client.get(f"{BASE}/departments/TDEPT").json()
    revoked = client.post(f"{BASE}/{seal.pk}/revoke", {"reason": " "}, content_type="application/json")
    appointed = client.post(
        f"{BASE}/departments/TDEPT/holders", {"username": "nobody"}, content_type="application/json"
    )
    removed = client.delete(f"{BASE}/departments/TDEPT/holders/{CANDIDATE}")
    missing = client.get(f"{BASE}/departments/NOPE")

    assert rotated.status_code == 201
    assert rotated.json()["version"] == 2
    assert [(item["version"], item["status"]) for item in listed] == [(2, "active"), (1, "retired")]
    assert (revoked.status_code, revoked.json()["code"]) == (422, "reason_required")
    assert (appointed.status_code, appointed.json()["code"]) == (422, "holder_not_staff")
    assert (removed.status_code, removed.json()["code"]) == (404, "holder_not_found")
    assert missing.status_code == 403  # not this administrator's department


def test_an_uploaded_image_that_is_not_a_png_is_refused(
    users: dict[str, Any], seal: Seal, api_token_for: Callable[[object], str]
) -> None:
    client = _client("department_admin", users, api_token_for)
    upload = io.BytesIO(b"GIF89a not a png")
    upload.name = "seal.png"

    response = client.post(f"{BASE}/{seal.pk}/image", {"file": upload})

    assert (response.status_code, response.json()["code"]) == (422, "seal_image_not_png")
    assert Seal.objects.get().image_source == "generated"
