"""The reference adapter and the keys around it (issue #8 item 6; docs/exchange.md, "The adapter protocol"):
a department registers its own key from a PKCS#10 request (the private key never leaves it; OpenSSL's SM2
requests accepted), the gateway's keys are certified by the platform root and published, the adapter trusts
only gateway certificates chaining to the pinned root, keeps nonces (also across processes), runs under a
path prefix and answers a signed 500 when the department's handler fails; the key-registration endpoint and
gateway-key discovery for every role."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from django.test import Client

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.core.errors import RuleViolation
from onewindow.crypto.keys import Algorithm, generate_signer
from onewindow.exchange import actions, adapter, protocol
from onewindow.exchange.conformance import conformance_check
from onewindow.exchange.models import GatewayKey, SubsystemKey
from onewindow.exchange.tests.conftest import World
from onewindow.exchange.tests.support_adapter import (
    AdapterWorld,
    RunningServer,
    adapter_world,
    root_certificate_der,
)

pytestmark = pytest.mark.django_db

__all__ = ["adapter_world"]

ALLOWED = {"department_admin", "system_admin"}


def _identity(world: World) -> str:
    return protocol.subsystem_path(world.consumer.department.credit_code, world.consumer.code)


# --- Registering a department's own key ------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [Algorithm.SM2_SM3, Algorithm.ED25519])
def test_own_key_registered_from_a_certificate_request(world: World, algorithm: Algorithm) -> None:
    signer = generate_signer(algorithm)
    key = actions.subsystem_key_register(
        acting_user=None,
        system=world.consumer,
        certificate_request=adapter.certificate_request_pem(signer, _identity(world)),
    )
    assert key.key_id == signer.key_id
    assert key.algorithm == str(algorithm)
    assert key.private_key_token == ""  # the platform never held the private key
    assert key.status == "active"
    world.consumer_key.refresh_from_db()
    assert world.consumer_key.status == "retired"
    certificate = x509.load_der_x509_certificate(bytes(key.certificate_der))
    root = adapter.load_certificate(root_certificate_der())
    verifier, identity = adapter.certificate_verifier(
        certificate, root, identity=_identity(world), now=dt.datetime.now(dt.UTC)
    )
    assert identity == _identity(world)
    assert verifier.key_id == signer.key_id
    assert AuditRecord.objects.filter(action="exchange.key_registered", object_id=key.key_id).exists()
    # The registered key signs the subsystem's calls as a consumer.
    answer = world.new_client(signer=signer).call(
        world.service_path, {"credit_code": world.entity_code}, purpose="ZW2026000001"
    )
    assert answer.status == 200, answer.body


def _openssl_with_sm2() -> str:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command")
    listed = subprocess.run(
        [openssl, "list", "-public-key-algorithms"], capture_output=True, text=True, check=False, timeout=30
    )
    if "SM2" not in listed.stdout:
        pytest.skip("this OpenSSL has no SM2")
    return openssl


def test_openssl_sm2_certificate_request_is_accepted(world: World, tmp_path: Path) -> None:
    openssl = _openssl_with_sm2()
    key_file, request_file = tmp_path / "key.pem", tmp_path / "request.pem"
    run: Callable[..., Any] = subprocess.run
    run(
        [openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", str(key_file)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    run(
        [
            *(openssl, "req", "-new", "-key", str(key_file), "-subj", "/CN=TDEPT-CASES", "-sm3"),
            *("-sigopt", "distid:1234567812345678", "-out", str(request_file)),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    key = actions.subsystem_key_register(
        acting_user=None, system=world.consumer, certificate_request=request_file.read_bytes()
    )
    assert key.algorithm == "SM2-SM3"
    # And OpenSSL verifies the platform's own requests (what the adapter's helper writes).
    ours = tmp_path / "ours.pem"
    ours.write_bytes(adapter.certificate_request_pem(generate_signer(Algorithm.SM2_SM3), "x"))
    verified = run(
        [openssl, "req", "-in", str(ours), "-verify", "-noout", "-vfyopt", "distid:1234567812345678"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert "verify OK" in verified.stdout + verified.stderr


def test_certificate_requests_without_proof_of_possession_are_refused(world: World) -> None:
    from onewindow.crypto import _der

    signer, impostor = generate_signer(Algorithm.SM2_SM3), generate_signer(Algorithm.SM2_SM3)
    genuine = adapter.certificate_request(signer, "x")
    # The same request signed by another key: no proof that the requester holds the key it names.
    info, algorithm, _signature = _der.children(_der.read_all(genuine, _der.SEQUENCE))
    info_der = _der.tlv(*info)
    forged = _der.tlv(
        _der.SEQUENCE,
        info_der + _der.tlv(*algorithm) + _der.tlv(_der.BIT_STRING, b"\x00" + impostor.sign(info_der)),
    )
    before = list(SubsystemKey.objects.values_list("key_id", "status"))
    for request in (forged, b"not a request", genuine[:-3]):
        with pytest.raises(RuleViolation) as refused:
            actions.subsystem_key_register(
                acting_user=None, system=world.consumer, certificate_request=request
            )
        assert refused.value.code == "certificate_request_invalid"
    with pytest.raises(ValueError, match="SM2 or Ed25519"):
        adapter.certificate_request(generate_signer(Algorithm.ECDSA_P256_SHA256), "x")
    assert list(SubsystemKey.objects.values_list("key_id", "status")) == before


def test_a_subsystem_with_built_in_services_keeps_platform_keys(world: World) -> None:
    request = adapter.certificate_request_pem(generate_signer(Algorithm.SM2_SM3), "x")
    with pytest.raises(RuleViolation) as refused:
        actions.subsystem_key_register(acting_user=None, system=world.provider, certificate_request=request)
    assert refused.value.code == "key_held_by_platform"


def test_the_same_key_is_registered_once(world: World) -> None:
    request = adapter.certificate_request_pem(generate_signer(Algorithm.ED25519), "x")
    actions.subsystem_key_register(acting_user=None, system=world.consumer, certificate_request=request)
    with pytest.raises(RuleViolation) as refused:
        actions.subsystem_key_register(acting_user=None, system=world.consumer, certificate_request=request)
    assert refused.value.code == "key_already_registered"


@pytest.mark.parametrize("role", ["anonymous", *ALL_ROLES])
def test_key_registration_endpoint_for_each_role(
    world: World, role_users: dict[str, Any], api_token_for: Callable[[object], str], role: str
) -> None:
    client = (
        Client()
        if role == "anonymous"
        else Client(headers={"authorization": f"Bearer {api_token_for(role_users[role])}"})
    )
    before = {
        "keys": list(SubsystemKey.objects.order_by("pk").values_list("key_id", "status")),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied").values_list("action", "object_id")
        ),
    }
    signer = generate_signer(Algorithm.SM2_SM3)
    request = adapter.certificate_request_pem(signer, _identity(world)).decode("ascii")
    response = client.post(
        f"/api/v1/exchange/systems/{world.consumer.code}/keys/register",
        {"certificate_request": request},
        content_type="application/json",
    )
    if role in ALLOWED:
        assert response.status_code == 201, response.content
        assert response.json()["key_id"] == signer.key_id
        assert response.json()["status"] == "active"
        return
    assert response.status_code == (401 if role == "anonymous" else 403), response.content
    assert response.json()["message_zh"]
    after = {
        "keys": list(SubsystemKey.objects.order_by("pk").values_list("key_id", "status")),
        "audit": list(
            AuditRecord.objects.exclude(action="permission.denied").values_list("action", "object_id")
        ),
    }
    assert after == before


def test_key_registration_endpoint_refuses_bilingually(
    world: World, role_users: dict[str, Any], api_token_for: Callable[[object], str]
) -> None:
    client = Client(headers={"authorization": f"Bearer {api_token_for(role_users['system_admin'])}"})
    der = base64.b64encode(b"\x30\x03\x02\x01\x00").decode()
    response = client.post(
        f"/api/v1/exchange/systems/{world.consumer.code}/keys/register",
        {"certificate_request": der},
        content_type="application/json",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "certificate_request_invalid"
    assert "PKCS#10" in body["message_zh"]
    assert body["message_en"].startswith("The certificate request is not valid")


# --- The gateway's keys -----------------------------------------------------------------------------------


def test_gateway_keys_are_certified_published_rotated_and_revoked(world: World) -> None:
    client = Client()  # discovery is public
    published = client.get("/api/v1/exchange/meta/gateway/keys").json()
    first = GatewayKey.objects.get(status="active")
    assert [row["key_id"] for row in published] == [first.key_id]
    assert published[0]["identity"] == adapter.GATEWAY_IDENTITY
    certificate = x509.load_der_x509_certificate(base64.b64decode(published[0]["certificate_der_base64"]))
    root = adapter.load_certificate(root_certificate_der())
    verifier, identity = adapter.certificate_verifier(
        certificate, root, identity=adapter.GATEWAY_IDENTITY, now=dt.datetime.now(dt.UTC)
    )
    assert (verifier.key_id, identity) == (first.key_id, adapter.GATEWAY_IDENTITY)
    assert AuditRecord.objects.filter(action="exchange.gateway_key_issued", actor_username="system").exists()

    keys = adapter.GatewayKeys(
        root_certificate=root_certificate_der(),
        fetch=lambda: [
            base64.b64decode(row["certificate_der_base64"])
            for row in client.get("/api/v1/exchange/meta/gateway/keys").json()
        ],
        min_fetch_interval=0,
    )
    assert keys.verifier(first.key_id) is not None
    second = actions.gateway_key_issue(acting_user=None)
    assert keys.verifier(second.key_id) is not None  # an unknown key id fetches again
    assert keys.verifier(first.key_id) is not None  # retired: still verifies
    actions.gateway_key_revoke(acting_user=None, key_id=first.key_id, reason="轮换后注销")
    keys.refresh_seconds = 0
    assert keys.verifier(first.key_id) is None  # gone from discovery, dropped at the next refresh
    assert [row["key_id"] for row in client.get("/api/v1/exchange/meta/gateway/keys").json()] == [
        second.key_id
    ]


def test_gateway_key_admin_is_for_system_administrators(world: World, role_users: dict[str, Any]) -> None:
    from django.core.exceptions import PermissionDenied

    before = list(GatewayKey.objects.values_list("key_id", "status"))
    for role in ALL_ROLES:
        if role == "system_admin":
            continue
        with pytest.raises(PermissionDenied):
            actions.gateway_key_issue(acting_user=role_users[role])
    assert list(GatewayKey.objects.values_list("key_id", "status")) == before
    assert actions.gateway_key_issue(acting_user=role_users["system_admin"]).status == "active"


def test_the_adapter_trusts_only_gateway_certificates_under_its_root(world: World) -> None:
    gateway = actions.gateway_key_current()
    subsystem_certificate = bytes(world.provider_key.certificate_der)
    keys = adapter.GatewayKeys(
        root_certificate=root_certificate_der(),
        certificates=[bytes(gateway.certificate_der), subsystem_certificate],
    )
    assert keys.verifier(gateway.key_id) is not None
    assert keys.verifier(world.provider_key.key_id) is None  # certified, but not the gateway
    # Another platform's root: nothing it did not sign is trusted.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    other_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other root")])
    now = dt.datetime.now(dt.UTC)
    other_root = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(other_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(other_key, hashes.SHA256())
    )
    foreign = adapter.GatewayKeys(
        root_certificate=other_root.public_bytes(Encoding.PEM), certificates=[bytes(gateway.certificate_der)]
    )
    assert foreign.verifier(gateway.key_id) is None


# --- Nonces, mounting, failures ---------------------------------------------------------------------------


def test_nonce_stores_refuse_a_second_use(tmp_path: Path) -> None:
    far = dt.datetime.now(dt.UTC).timestamp() + 600
    memory = adapter.MemoryNonceStore()
    assert memory.use("gw", "n1", far)
    assert not memory.use("gw", "n1", far)
    assert memory.use("other", "n1", far)
    path = str(tmp_path / "nonces.sqlite3")
    one, two = adapter.SQLiteNonceStore(path), adapter.SQLiteNonceStore(path)  # two adapter processes
    assert one.use("gw", "n1", far)
    assert not two.use("gw", "n1", far)
    assert two.use("gw", "n2", far)
    # An expired nonce is forgotten (a replay of it is refused as stale anyway).
    assert one.use("gw", "old", dt.datetime.now(dt.UTC).timestamp() - 1)
    assert two.use("gw", "old", far)


def test_the_adapter_under_a_path_prefix_passes(adapter_world: AdapterWorld) -> None:
    mounted = adapter_world.make_adapter(mount="/ow/exchange")
    server = RunningServer(mounted)
    try:
        report = conformance_check(f"{server.url}/ow/exchange", system=adapter_world.system)
        assert report.passed, report.lines()
        assert conformance_check(f"{server.url}/elsewhere", system=adapter_world.system, timeout=2).failed()
    finally:
        server.stop()


def test_a_failing_handler_is_a_signed_500(adapter_world: AdapterWorld) -> None:
    def broken(query: dict[str, Any], items: list[str] | None) -> dict[str, Any] | None:
        raise RuntimeError("database down")

    adapter_world.server.app = adapter_world.make_adapter(handlers={"schools": broken})
    answer = adapter_world.client.call(adapter_world.service_path, {"name": "鼓楼一中"}, purpose="ZW1")
    assert (answer.status, answer.code) == (503, "provider_unavailable")
    from onewindow.messagelog.models import MessageLogRecord

    provider_leg = MessageLogRecord.objects.filter(
        exchange_id=answer.json["exchange_id"], consumer=adapter.GATEWAY_IDENTITY
    ).get()
    assert (provider_leg.status, provider_leg.error_code) == (500, "provider_error")  # signed and verified
    assert b"database down" not in answer.body


def test_metaservices_describe_the_services(adapter_world: AdapterWorld) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{adapter_world.base}/meta/openapi", timeout=5) as response:  # noqa: S310
        document = json.loads(response.read())
    assert document["openapi"].startswith("3.")
    assert document["info"]["x-ow-subsystem"] == adapter_world.adapter.subsystem
    post = document["paths"]["/services/schools"]["post"]
    assert post["x-ow-service"] == f"{adapter_world.adapter.subsystem}/schools"
    assert post["requestBody"]["content"]["application/json"]["example"] == {"query": {"name": "鼓楼一中"}}
    with urllib.request.urlopen(f"{adapter_world.base}/meta/health", timeout=5) as response:  # noqa: S310
        health = json.loads(response.read())
    assert health["status"] == "ok"
    assert health["services"] == ["schools"]
    assert health["signing_key"] == adapter_world.key.key_id
