"""``onewindow exchange keys register --system CODE --csr FILE [--json]`` (``manage.py exchange_keys
register``): a department's own key from its PKCS#10 certificate request, through the same audited action as
``POST /api/v1/exchange/systems/{code}/keys/register`` (``subsystem_key_register``). Without ``--user`` the
command acts as the system, like the other ``keys`` subcommands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from onewindow.audit.models import AuditRecord
from onewindow.catalog.models import InformationSystem
from onewindow.cli import main
from onewindow.crypto.keys import Algorithm, generate_signer
from onewindow.exchange import actions, adapter
from onewindow.exchange.models import SubsystemKey
from onewindow.exchange.tests.conftest import system

pytestmark = pytest.mark.django_db


@pytest.fixture
def tdept_system(role_users: dict[str, Any]) -> InformationSystem:
    from onewindow.organisations.models import Department

    return system(Department.objects.get(code="TDEPT"), "TDEPT-CSR")


def _keys() -> list[tuple[str, str]]:
    return list(SubsystemKey.objects.order_by("pk").values_list("key_id", "status"))


def _csr(
    tmp_path: Path, system: InformationSystem, algorithm: Algorithm = Algorithm.SM2_SM3
) -> tuple[Path, str]:
    signer = generate_signer(algorithm)
    path = tmp_path / "request.pem"
    path.write_bytes(adapter.certificate_request_pem(signer, actions.subsystem_identifier(system)))
    return path, signer.key_id


def test_register_an_sm2_key_from_a_certificate_request(
    tdept_system: InformationSystem, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the subsystem's active platform-held key and a CSR signed with the department's own SM2 key
    old = actions.subsystem_key_issue(acting_user=None, system=tdept_system)
    csr, key_id = _csr(tmp_path, tdept_system)

    # when the request is registered from the command line
    code = main(["exchange", "keys", "register", "--system", "TDEPT-CSR", "--csr", str(csr), "--json"])

    # then the key is the subsystem's active one, certified, without a private part; the old one retired
    out = capsys.readouterr().out
    assert code == 0, out
    row = json.loads(out)
    assert (row["key_id"], row["algorithm"], row["status"]) == (key_id, "SM2-SM3", "active")
    assert row["subsystem"] == actions.subsystem_identifier(tdept_system)
    assert row["certificate_serial"]
    assert "private" not in out
    key = SubsystemKey.objects.get(key_id=key_id)
    assert key.private_key_token == ""
    assert bytes(key.certificate_der)
    old.refresh_from_db()
    assert old.status == "retired"
    # and the registration is audited as the system's, from the command line
    record = AuditRecord.objects.get(action="exchange.key_registered", object_id=key_id)
    assert record.actor_username == "system"
    assert record.details["retired"] == [old.key_id]


def test_register_prints_a_line_without_json(
    tdept_system: InformationSystem, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csr, key_id = _csr(tmp_path, tdept_system, Algorithm.ED25519)
    assert main(["exchange", "keys", "register", "--system", "TDEPT-CSR", "--csr", str(csr)]) == 0
    assert f"Registered Ed25519 key {key_id}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content",
    [
        b"-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgcmVxdWVzdA==\n-----END CERTIFICATE REQUEST-----\n",
        b"\x30\x03\x02\x01\x00",
        b"",
    ],
    ids=["garbled PEM", "not a request", "empty"],
)
def test_a_bad_certificate_request_is_refused_with_a_bilingual_message(
    tdept_system: InformationSystem, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    csr = tmp_path / "bad.pem"
    csr.write_bytes(content)
    before = _keys()

    code = main(["exchange", "keys", "register", "--system", "TDEPT-CSR", "--csr", str(csr)])

    error = capsys.readouterr().err
    assert code == 1
    assert "certificate_request_invalid" in error
    assert "证书请求无效" in error
    assert "The certificate request is not valid" in error
    assert _keys() == before
    assert not AuditRecord.objects.filter(action="exchange.key_registered").exists()


def test_a_request_signed_by_another_key_is_refused(
    tdept_system: InformationSystem, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No proof of possession: the request's key did not sign it (the signature of another key)."""
    from onewindow.crypto import _der

    genuine = adapter.certificate_request(generate_signer(Algorithm.SM2_SM3), "x")
    info, algorithm, _signature = _der.children(_der.read_all(genuine, _der.SEQUENCE))
    info_der = _der.tlv(*info)
    impostor = generate_signer(Algorithm.SM2_SM3)
    forged = _der.tlv(
        _der.SEQUENCE,
        info_der + _der.tlv(*algorithm) + _der.tlv(_der.BIT_STRING, b"\x00" + impostor.sign(info_der)),
    )
    csr = tmp_path / "forged.der"
    csr.write_bytes(forged)

    assert main(["exchange", "keys", "register", "--system", "TDEPT-CSR", "--csr", str(csr)]) == 1
    assert "certificate_request_invalid" in capsys.readouterr().err
    assert _keys() == []


def test_a_missing_file_or_subsystem_is_a_clear_error(
    tdept_system: InformationSystem, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.pem"
    assert main(["exchange", "keys", "register", "--system", "TDEPT-CSR", "--csr", str(missing)]) == 1
    error = capsys.readouterr().err
    assert "无法读取证书请求文件" in error
    assert "Cannot read the certificate request file" in error

    csr, _key_id = _csr(tmp_path, tdept_system)
    assert main(["exchange", "keys", "register", "--system", "NO-SUCH", "--csr", str(csr)]) == 1
    assert "NO-SUCH" in capsys.readouterr().err
    assert _keys() == []


def test_register_needs_the_system_and_the_request() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["exchange", "keys", "register", "--system", "TDEPT-CSR"])
    assert exited.value.code == 2


@pytest.mark.parametrize(("role", "allowed"), [("department_admin", True), ("department_handler", False)])
def test_acting_as_a_user_checks_their_permissions(
    tdept_system: InformationSystem,
    role_users: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    role: str,
    allowed: bool,
) -> None:
    csr, _key_id = _csr(tmp_path, tdept_system)
    username = role_users[role].username

    code = main(
        ["exchange", "keys", "register", "--system", "TDEPT-CSR", "--csr", str(csr), "--user", username]
    )

    if allowed:
        assert code == 0
        assert AuditRecord.objects.get(action="exchange.key_registered").actor_username == username
        return
    assert code == 1
    assert "This user may not manage this subsystem's keys." in capsys.readouterr().err
    assert _keys() == []
