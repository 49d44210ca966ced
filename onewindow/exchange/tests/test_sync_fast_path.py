"""The fast synchronous path (docs/exchange.md "Performance"): constant-statement reads that still see every
revocation at once (nothing is cached: a write by another process, simulated by raw SQL that no in-process
hook could notice, stops the next call), the catalog's grant rule kept exactly, the nonce recorded in the
same transaction as the message-log record (a concurrent replay is refused and releases nothing), the lean
WSGI path answering as the Django view does, and the scheduled purge of used nonces."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections, connection
from django.test import override_settings
from django.utils import timezone

from onewindow.audit.models import AuditRecord
from onewindow.catalog.models import Grant
from onewindow.catalog.selectors_sharing import grant_check
from onewindow.exchange import gateway, protocol, selectors
from onewindow.exchange.models import Service, SubsystemKey, UsedNonce
from onewindow.exchange.tests.conftest import ENTITY_ITEMS, World, key_signer, lookup, system
from onewindow.messagelog.models import MessageLogRecord

pytestmark = pytest.mark.django_db

PURPOSE = "ZW2026000123"


def _call(world: World) -> Any:
    return world.client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE)


def _refused_with(world: World, code: str) -> None:
    client = world.new_client()
    client.require_signed_response = False
    answer = client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE)
    assert answer.code == code, answer.body
    assert answer.data is None


def _raw(sql: str, params: list[Any]) -> None:
    """A write as another process makes it: straight to the database, past every action and signal."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- Nothing cached: revocations stop the next call -------------------------------------------------------


def test_a_grant_revoked_by_another_process_stops_the_next_call(world: World) -> None:
    assert _call(world).status == 200
    _raw(f"UPDATE {Grant._meta.db_table} SET status = %s WHERE id = %s", ["revoked", world.grant.pk])  # noqa: S608
    _refused_with(world, "no_grant")


def test_a_grant_expired_yesterday_allows_nothing(world: World) -> None:
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    _raw(
        f"UPDATE {Grant._meta.db_table} SET expires_on = %s WHERE id = %s",  # noqa: S608
        [connection.ops.adapt_datefield_value(yesterday), world.grant.pk],
    )
    _refused_with(world, "no_grant")


def test_a_key_revoked_by_another_process_stops_the_next_call(world: World) -> None:
    assert _call(world).status == 200
    _raw(
        f"UPDATE {SubsystemKey._meta.db_table} SET status = %s WHERE key_id = %s",  # noqa: S608
        ["revoked", world.consumer_key.key_id],
    )
    _refused_with(world, "key_revoked")


def test_a_service_deactivated_by_another_process_is_unknown_at_once(world: World) -> None:
    assert _call(world).status == 200
    _raw(f"UPDATE {Service._meta.db_table} SET is_active = %s WHERE id = %s", [False, world.service.pk])  # noqa: S608
    _refused_with(world, "unknown_service")


def test_the_provider_signs_with_its_current_key_after_a_rotation(world: World) -> None:
    from onewindow.exchange import actions

    new = actions.subsystem_key_issue(acting_user=None, system=world.provider)
    answer = _call(world)
    assert answer.verified
    assert answer.headers[protocol.KEY_ID] == new.key_id


# --- The catalog's grant rule, exactly ----------------------------------------------------------------------


def test_the_gateway_picks_the_grant_the_catalogs_grant_check_picks(world: World) -> None:
    """Department grant, a narrower grant to another system of the department, a grant to this system:
    for each set of items, the gateway's choice (one statement) is grant_check's."""
    other = system(world.consumer.department, "TDEPT-OTHER")
    base = world.grant
    later = base.expires_on + dt.timedelta(days=10)

    def copy(**changes: Any) -> Grant:
        from onewindow.catalog.models import ShareRequest

        request = ShareRequest.objects.get(pk=base.request_id)
        request.pk = None
        request.save()
        grant = Grant.objects.get(pk=base.pk)
        grant.pk = None
        grant.request = request
        for name, value in changes.items():
            setattr(grant, name, value)
        grant.save()
        return grant

    copy(system=other, item_names=["名称"], expires_on=later)
    mine = copy(system=world.consumer, item_names=["名称", "登记状态"], expires_on=later)
    today = timezone.localdate()
    grants = selectors.grants_for_call("TDEPT", world.service.resource_code, world.consumer.code, today=today)
    assert [grant.id for grant in grants] == [mine.pk, base.pk]  # the other system's grant is not there
    for items in (["名称"], ["名称", "登记状态"], ENTITY_ITEMS, ["法定代表人"], []):
        chosen = selectors.grant_covering(grants, frozenset(items))
        expected = grant_check("TDEPT", world.service.resource_code, items, world.consumer, today=today)
        assert (chosen.id if chosen else None) == (expected.pk if expected else None), items


# --- The nonce and the record in one transaction ------------------------------------------------------------


def test_the_nonce_and_the_log_record_are_written_together(world: World) -> None:
    answer = _call(world)
    nonce = UsedNonce.objects.get()
    record = MessageLogRecord.objects.get(exchange_id=answer.json["exchange_id"])
    assert nonce.client == world.client.subsystem
    assert record.status == 200
    assert nonce.expires_at > timezone.now() + dt.timedelta(minutes=9)


def test_a_refusal_after_authentication_uses_up_the_nonce(world: World) -> None:
    """A request refused for want of a grant cannot be replayed once a grant exists."""
    client = world.new_client()
    client.require_signed_response = False
    payload = json.dumps({"query": {"credit_code": world.entity_code}, "items": ["法定代表人"]}).encode()
    path = client.path_of(world.service_path)
    headers = client.signed_headers(path, payload, PURPOSE)
    assert client.send(path, headers, payload).code == "items_not_granted"
    assert client.send(path, headers, payload).code == "replayed_nonce"


def test_a_concurrent_replay_is_refused_and_releases_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two calls with one nonce both pass the early check; the one that records the nonce second (the unique
    constraint decides) answers 409 ``replayed_nonce``, audited and logged, without the provider's data."""
    provide = gateway._provide

    def provide_while_the_twin_commits(*args: Any, **kwargs: Any) -> Any:
        call = args[0]
        UsedNonce.objects.create(
            client=call.headers.client, nonce=call.headers.nonce, expires_at=call.nonce_expires_at
        )
        return provide(*args, **kwargs)

    monkeypatch.setattr(gateway, "_provide", provide_while_the_twin_commits)
    client = world.new_client()
    answer = client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE)
    assert answer.verified
    assert (answer.status, answer.code) == (409, "replayed_nonce")
    assert "福州闽江科技有限公司" not in answer.body.decode()
    exchange_id = answer.json["exchange_id"]
    records = list(MessageLogRecord.objects.filter(exchange_id=exchange_id))
    assert [(record.status, record.error_code) for record in records] == [(409, "replayed_nonce")]
    assert AuditRecord.objects.filter(
        action="exchange.refused", details__exchange_id=exchange_id, details__code="replayed_nonce"
    ).exists()


def test_a_nul_character_in_the_purpose_is_refused(world: World) -> None:
    client = world.new_client()
    client.require_signed_response = False
    answer = client.call(world.service_path, {"credit_code": world.entity_code}, purpose="办件\x00")
    assert answer.code == "purpose_required"


def test_a_nul_character_in_the_body_is_refused_on_the_lean_path(world: World) -> None:
    """Django's RejectNulCharactersMiddleware refuses it on the view's path; the gateway itself on the lean
    one (a NUL reaching a PostgreSQL look-up would be a server error)."""
    from onewindow.exchange.wsgi import exchange_wsgi

    client = _wsgi_client(world, exchange_wsgi(Fallback()))
    answer = client.call(world.service_path, {"credit_code": "9135\x00"}, purpose=PURPOSE)
    assert answer.verified
    assert (answer.status, answer.code) == (400, "bad_request")


# --- The lean WSGI path ----------------------------------------------------------------------------------


class Fallback:
    """Stands for Django's WSGI handler: records that it was asked."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.paths.append(environ["PATH_INFO"])
        start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
        return [b"django"]


def _wsgi_transport(application: Any, host: str = "testserver") -> Any:
    def send(
        method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": host,
            "REMOTE_ADDR": "10.0.0.7",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": headers.get("Content-Type", "application/json"),
        }
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        answered: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
            answered["status"] = int(status.split()[0])
            answered["headers"] = dict(response_headers)

        # As Django's test client does: the test's transaction must outlive the request's connection handling.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            content = b"".join(application(environ, start_response))
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)
        return answered["status"], answered["headers"], content

    return send


def _wsgi_client(world: World, application: Any, host: str = "testserver") -> Any:
    from onewindow.exchange.client import ExchangeClient

    return ExchangeClient(
        base_url="http://testserver",
        subsystem=world.client.subsystem,
        signer=key_signer(world.consumer_key),
        verifier_lookup=lookup,
        transport=_wsgi_transport(application, host),
    )


def test_the_lean_path_answers_a_signed_call_like_the_view(world: World) -> None:
    from onewindow.exchange.wsgi import exchange_wsgi

    fallback = Fallback()
    client = _wsgi_client(world, exchange_wsgi(fallback))
    answer = client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE)
    assert fallback.paths == []
    assert (answer.status, answer.verified) == (200, True)
    assert answer.data == _call(world).data
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert len(answer.headers["X-Request-ID"]) >= 8
    record = MessageLogRecord.objects.get(exchange_id=answer.json["exchange_id"])
    assert record.response_signature == answer.headers[protocol.SIGNATURE]


def test_the_lean_path_audits_refusals_with_the_client_address(world: World) -> None:
    from onewindow.exchange.wsgi import exchange_wsgi

    client = _wsgi_client(world, exchange_wsgi(Fallback()))
    client.require_signed_response = False
    answer = client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE, items=["x"])
    assert answer.code == "items_not_granted"
    audit = AuditRecord.objects.get(
        action="exchange.refused", details__exchange_id=answer.json["exchange_id"]
    )
    assert audit.client_address == "10.0.0.7"


def test_other_paths_disallowed_hosts_and_plain_http_under_ssl_redirect_go_to_django(world: World) -> None:
    from onewindow.exchange.wsgi import exchange_wsgi

    fallback = Fallback()
    application = exchange_wsgi(fallback)
    status, _, content = _wsgi_transport(application)("GET", "/healthz", {}, b"")
    assert (status, content) == (418, b"django")
    client = _wsgi_client(world, application, host="evil.example")
    client.require_signed_response = False
    assert client.call(world.service_path, {"credit_code": world.entity_code}, purpose=PURPOSE).status == 418
    with override_settings(SECURE_SSL_REDIRECT=True):
        client = _wsgi_client(world, application)
        client.require_signed_response = False
        assert client.call(world.service_path, {"credit_code": "x"}, purpose=PURPOSE).status == 418
    assert fallback.paths[0] == "/healthz"
    assert len(fallback.paths) == 3
    assert not MessageLogRecord.objects.exists()


def test_config_wsgi_serves_the_lean_path() -> None:
    from config.wsgi import application
    from onewindow.exchange.wsgi import ExchangeWSGI

    assert isinstance(application, ExchangeWSGI)


# --- The purge of used nonces, scheduled --------------------------------------------------------------------


def test_used_nonces_are_purged_every_five_minutes() -> None:
    from onewindow.core.schedule import autodiscover_schedules
    from onewindow.exchange.tasks import exchange_used_nonces_purge

    jobs = {job.name: job for job in autodiscover_schedules().jobs()}
    assert jobs["exchange_used_nonces_purge"].every_seconds == 300
    assert jobs["exchange_used_nonces_purge"].target is exchange_used_nonces_purge

    now = timezone.now()
    UsedNonce.objects.create(client="CN/GOV/X/A", nonce="old", expires_at=now - dt.timedelta(seconds=1))
    UsedNonce.objects.create(client="CN/GOV/X/A", nonce="live", expires_at=now + dt.timedelta(minutes=9))
    # the job's task runs (immediately in tests) and leaves only the nonce still inside its window
    jobs["exchange_used_nonces_purge"].run()
    assert list(UsedNonce.objects.values_list("nonce", flat=True)) == ["live"]


# --- Replays racing on real connections ---------------------------------------------------------------------


@pytest.fixture
def divisions_present(transactional_db: None) -> None:
    """A transactional test before this one on the same worker may have flushed the seeded divisions."""
    from onewindow.organisations.actions.divisions import divisions_load_from_package
    from onewindow.organisations.models import Division

    if not Division.objects.exists():
        divisions_load_from_package()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the SQLite test database is in memory with a shared cache: concurrent writers get 'table is "
    "locked' instead of waiting (the messagelog concurrency test says the same)",
)
def test_one_request_sent_at_once_on_four_connections_is_answered_once(
    divisions_present: None, world: World
) -> None:
    import threading

    from onewindow.exchange.gateway import exchange_handle

    client = world.new_client()
    payload = json.dumps({"query": {"credit_code": world.entity_code}}).encode()
    path = client.path_of(world.service_path)
    headers = client.signed_headers(path, payload, PURPOSE)
    barrier = threading.Barrier(4)
    answers: list[tuple[int, bytes]] = []
    errors: list[str] = []

    def send() -> None:
        try:
            barrier.wait()
            answer = exchange_handle(method="POST", path=path, headers=headers, body=payload)
            answers.append((answer.status, answer.body))
        except Exception as error:  # collected and asserted below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(status for status, _ in answers) == [200, 409, 409, 409]
    assert sum("福州闽江科技有限公司" in body.decode() for _, body in answers) == 1
    assert UsedNonce.objects.filter(nonce=headers[protocol.NONCE]).count() == 1
    assert MessageLogRecord.objects.filter(status=200).count() == 1
    assert MessageLogRecord.objects.filter(error_code="replayed_nonce").count() == 3
