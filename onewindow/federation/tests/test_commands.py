"""``manage.py federation`` / ``onewindow federation``: the operator's commands call the same audited
actions as the API (the two-node test drives a whole set-up through them)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from onewindow.cli import build_parser, cmd_federation
from onewindow.federation.tests.conftest import peer_register
from onewindow.federation.tests.support import FakeNode

pytestmark = pytest.mark.django_db


def _run(*arguments: str) -> str:
    out = io.StringIO()
    call_command("federation", *arguments, stdout=out)
    return out.getvalue()


def test_the_command_line_passes_federation_subcommands_on() -> None:
    args, extra = build_parser().parse_known_args(["federation", "peer-list", "--json"])
    assert args.handler is cmd_federation
    assert [*args.arguments, *extra] == ["peer-list", "--json"]


def test_node_peer_list_and_revoke(local_node: str, remote: FakeNode) -> None:
    node = json.loads(_run("node", "--json"))
    assert node["instance"] == "CN-35"
    assert len(node["root_fingerprint_sm3"]) == 64
    assert _run("root").startswith("-----BEGIN CERTIFICATE-----")
    peer_register(remote, directions=["requests_in"])
    [row] = json.loads(_run("peer-list", "--json"))
    assert (row["instance"], row["status"], row["directions"]) == ("CN-3501", "active", ["requests_in"])
    assert "CN-3501" in _run("peer-revoke", "CN-3501", "--reason", "测试")
    with pytest.raises(CommandError, match="already revoked"):
        _run("peer-revoke", "CN-3501", "--reason", "测试")
    with pytest.raises(CommandError, match="No such peer"):
        _run("replay", "CN-9999")


def test_a_bad_fingerprint_is_refused_with_both_languages(
    local_node: str, remote: FakeNode, tmp_path: object
) -> None:
    from pathlib import Path

    root = Path(str(tmp_path)) / "root.pem"
    root.write_text(remote.root_pem, encoding="ascii")
    with pytest.raises(CommandError) as refused:
        _run(
            "peer-add",
            "CN-3501",
            "https://cn-3501.example",
            "--fingerprint",
            "00" * 32,
            "--root-file",
            str(root),
            "--directions",
            "requests_out",
        )
    assert "指纹" in str(refused.value)
    assert "fingerprint" in str(refused.value)
