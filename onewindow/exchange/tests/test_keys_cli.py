"""``onewindow exchange keys list|issue|revoke`` (``manage.py exchange_keys``): the same audited actions as
the pages and the API (issue #8 items 1 and 5; GB/T 22239-2019 §8.1.4.3: key management is audited).

Without ``--user`` the command acts as the system (audited ``system``, channel ``cli``); with it, the
account's permissions are checked and a refusal changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from onewindow.audit.models import AuditRecord
from onewindow.catalog.models import InformationSystem
from onewindow.cli import main
from onewindow.exchange.models import SubsystemKey
from onewindow.exchange.tests.conftest import system

pytestmark = pytest.mark.django_db


@pytest.fixture
def tdept_system(role_users: dict[str, Any]) -> InformationSystem:
    from onewindow.organisations.models import Department

    return system(Department.objects.get(code="TDEPT"), "TDEPT-CLI")


def _keys() -> list[tuple[str, str, str]]:
    return list(SubsystemKey.objects.order_by("pk").values_list("key_id", "status", "revoke_reason"))


def test_issue_rotate_list_and_revoke_as_the_system(
    tdept_system: InformationSystem, capsys: pytest.CaptureFixture[str]
) -> None:
    # when a key is issued, then rotated (a second one issued)
    assert main(["exchange", "keys", "issue", "TDEPT-CLI"]) == 0
    first = SubsystemKey.objects.get(system=tdept_system)
    assert main(["exchange", "keys", "issue", "TDEPT-CLI", "--algorithm", "Ed25519"]) == 0
    output = capsys.readouterr().out

    # then the first is retired, the second active, and both issues are audited as the system's
    first.refresh_from_db()
    second = SubsystemKey.objects.get(system=tdept_system, status="active")
    assert (first.status, first.algorithm, second.algorithm) == ("retired", "SM2-SM3", "Ed25519")
    assert second.key_id in output
    issued = AuditRecord.objects.filter(action="exchange.key_issued", object_id=second.key_id).get()
    assert issued.actor_username == "system"
    assert issued.details["retired"] == [first.key_id]

    # when the keys are listed as JSON
    assert main(["exchange", "keys", "list", "TDEPT-CLI", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)

    # then both are there, newest first, without any private key material
    assert [(row["key_id"], row["status"]) for row in rows] == [
        (second.key_id, "active"),
        (first.key_id, "retired"),
    ]
    assert "private" not in json.dumps(rows)

    # when the retired key is revoked with a reason
    assert main(["exchange", "keys", "revoke", first.key_id, "--reason", "轮换后注销"]) == 0

    # then it is revoked, audited, and the table shows it
    first.refresh_from_db()
    assert (first.status, first.revoke_reason) == ("revoked", "轮换后注销")
    assert AuditRecord.objects.filter(action="exchange.key_revoked", object_id=first.key_id).exists()
    capsys.readouterr()
    assert main(["exchange", "keys", "list"]) == 0
    table = capsys.readouterr().out
    assert f"{first.key_id}  TDEPT-CLI" in table
    assert "revoked" in table


def test_revoking_twice_or_an_unknown_key_fails_and_changes_nothing(
    tdept_system: InformationSystem, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exchange", "keys", "issue", "TDEPT-CLI"]) == 0
    key = SubsystemKey.objects.get(system=tdept_system)
    assert main(["exchange", "keys", "revoke", key.key_id, "--reason", "泄露"]) == 0
    before = _keys()
    capsys.readouterr()

    assert main(["exchange", "keys", "revoke", key.key_id, "--reason", "再次"]) == 1
    assert "key_already_revoked" in capsys.readouterr().err
    assert main(["exchange", "keys", "revoke", "0" * 64, "--reason", "无此密钥"]) == 1
    assert main(["exchange", "keys", "issue", "NO-SUCH-SYSTEM"]) == 1
    assert "NO-SUCH-SYSTEM" in capsys.readouterr().err
    assert _keys() == before


def test_revoking_needs_a_reason() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["exchange", "keys", "revoke", "0" * 64])
    assert exited.value.code == 2


@pytest.mark.parametrize(("role", "allowed"), [("department_admin", True), ("department_handler", False)])
def test_acting_as_a_user_checks_their_permissions(
    tdept_system: InformationSystem,
    role_users: dict[str, Any],
    role: str,
    allowed: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    username = role_users[role].username
    denied_before = AuditRecord.objects.filter(action="permission.denied").count()

    code = main(["exchange", "keys", "issue", "TDEPT-CLI", "--user", username])

    if allowed:
        assert code == 0
        issued = AuditRecord.objects.get(action="exchange.key_issued")
        assert issued.actor_username == username
        return
    assert code == 1
    assert "This user may not manage this subsystem's keys." in capsys.readouterr().err
    assert _keys() == []
    assert AuditRecord.objects.filter(action="permission.denied").count() == denied_before + 1
    assert main(["exchange", "keys", "list", "--user", username]) == 1


def test_an_unknown_user_is_refused(
    tdept_system: InformationSystem, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exchange", "keys", "issue", "TDEPT-CLI", "--user", "nobody"]) == 1
    assert "nobody" in capsys.readouterr().err
    assert _keys() == []


@pytest.mark.parametrize(
    "words", [["exchange", "keys"], ["exchange", "keys", "list"], ["exchange", "keys", "revoke"]]
)
def test_each_keys_subcommand_has_help(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*words, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: onewindow {' '.join(words)}")
