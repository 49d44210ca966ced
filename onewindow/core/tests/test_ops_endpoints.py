"""/healthz, /readyz and /metrics: what monitoring sees, and who may see the metrics.

GB/T 22239-2019 §8.1.5.4 c: the running state of the servers is monitored centrally; the metrics reveal
internal state, so only the monitoring addresses or the metrics token may read them (§8.1.4.2 access
control).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations import Migration
from django.db.migrations.executor import MigrationExecutor
from django.test import Client, override_settings
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from pytest_django import DjangoAssertNumQueries

from conftest import ALL_ROLES
from onewindow.audit.models import AuditRecord
from onewindow.core.models import ProcessKind, WorkerHeartbeat


def _heartbeat(name: str, *, age_seconds: float) -> WorkerHeartbeat:
    kind = ProcessKind.WORKER if name == "worker" else ProcessKind.SCHEDULER
    return WorkerHeartbeat.objects.create(
        name=name,
        kind=kind,
        last_seen=timezone.now() - timedelta(seconds=age_seconds),
        pid=4242,
        host="ops-1",
    )


# --- /healthz -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_ok_without_touching_the_database(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # when the liveness probe asks
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    # then it answers 200 "ok", never cached
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


def test_healthz_refuses_writes(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


# --- /readyz --------------------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(WORKER_HEARTBEAT_MAX_AGE_SECONDS=120)
def test_readyz_is_ok_with_a_fresh_worker_heartbeat(client: Client) -> None:
    # given heartbeats of the worker and the scheduler a few seconds old
    _heartbeat("worker", age_seconds=10)
    _heartbeat("scheduler", age_seconds=2)

    # when the readiness probe asks
    response = client.get("/readyz")

    # then all three checks pass
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"status": "ok"},
        "migrations": {"status": "ok"},
        "worker": {"status": "ok"},
    }


@pytest.mark.django_db
def test_readyz_is_503_when_no_worker_ever_ran(client: Client) -> None:
    # when no heartbeat was ever recorded
    response = client.get("/readyz")

    # then the worker check fails and says what to start
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failed"
    assert body["database"] == {"status": "ok"}
    assert body["migrations"] == {"status": "ok"}
    assert body["worker"] == {
        "status": "failed",
        "reason": "no worker heartbeat yet (the scheduler has never run); "
        "start `onewindow worker` and `onewindow scheduler`",
        "reason_zh": "尚无后台任务进程心跳（调度器从未运行）；"
        "请启动 `onewindow worker` 和 `onewindow scheduler`",
    }


@pytest.mark.django_db
@override_settings(WORKER_HEARTBEAT_MAX_AGE_SECONDS=120)
def test_readyz_is_503_with_a_stale_worker_heartbeat(client: Client) -> None:
    # given a worker silent for 300 s while the scheduler still runs
    _heartbeat("worker", age_seconds=300)
    _heartbeat("scheduler", age_seconds=3)

    # when the readiness probe asks
    response = client.get("/readyz")

    # then it fails, naming the age, the limit and the scheduler's state
    assert response.status_code == 503
    assert response.json()["worker"]["reason"] == (
        "worker heartbeat is 300 s old, more than 120 s (the scheduler was last seen 3 s ago)"
    )


@pytest.mark.django_db
def test_readyz_is_503_with_unapplied_migrations(client: Client) -> None:
    # given a fresh worker, and the migration executor finding one migration not applied
    _heartbeat("worker", age_seconds=1)
    pending = [(Migration("0099_pending", "cases"), False)]

    # when the readiness probe asks
    with mock.patch.object(MigrationExecutor, "migration_plan", return_value=pending):
        response = client.get("/readyz")

    # then the migrations check fails and names it
    assert response.status_code == 503
    assert response.json()["migrations"] == {
        "status": "failed",
        "reason": "1 migration(s) not applied: cases.0099_pending; run `onewindow migrate`",
        "reason_zh": "有 1 个数据库迁移尚未执行：cases.0099_pending；请运行 `onewindow migrate`",
    }
    assert response.json()["worker"] == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_is_unreachable(client: Client) -> None:
    # given a database that refuses connections
    refused = OperationalError("connection refused to db.internal:5432 user=onewindow")

    # when the readiness probe asks
    with mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=refused):
        response = client.get("/readyz")

    # then every check fails, and the driver's message (host, user) is not shown
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["reason"] == "database unreachable (OperationalError)"
    assert body["migrations"]["reason"] == "not checked: database unreachable"
    assert "db.internal" not in response.content.decode()


# --- /metrics -------------------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(METRICS_ALLOWED_IPS=["127.0.0.1"], METRICS_TOKEN="")
def test_metrics_from_an_allowed_address_show_process_and_database_gauges(client: Client) -> None:
    # given a worker heartbeat and two waiting tasks
    _heartbeat("worker", age_seconds=42)
    for _ in range(2):
        DBTaskResult.objects.create(
            args_kwargs={"args": [], "kwargs": {}},
            task_path="onewindow.core.tasks.worker_heartbeat",
            backend_name="default",
            run_after=timezone.now() - timedelta(seconds=5),
            status=TaskResultStatus.READY,
        )
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(seconds=5))
    client.get("/healthz")  # so the request counter has a sample

    # when a scraper on the allowed address asks
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    # then the exposition has the request metrics and the gauges read from the database
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    assert 'onewindow_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "onewindow_metrics_database_up 1.0" in text
    assert 'onewindow_tasks{queue="default",status="READY"} 2.0' in text
    age_line = next(line for line in text.splitlines() if line.startswith("onewindow_process_heartbeat_age"))
    assert age_line.startswith('onewindow_process_heartbeat_age_seconds{kind="worker",name="worker"} 4')
    oldest = next(line for line in text.splitlines() if line.startswith("onewindow_tasks_oldest_ready_age"))
    assert float(oldest.split()[-1]) >= 5.0


@pytest.mark.django_db
@override_settings(METRICS_ALLOWED_IPS=["10.20.0.0/16"], METRICS_TOKEN="")
def test_metrics_allow_a_network_and_refuse_other_addresses(client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.20.3.4").status_code == 200
    refused = client.get("/metrics", REMOTE_ADDR="10.21.0.1")
    assert refused.status_code == 403
    assert b"onewindow_" not in refused.content
    assert "禁止访问" in refused.content.decode()


@pytest.mark.django_db
@override_settings(METRICS_ALLOWED_IPS=[], METRICS_TOKEN="s3cret-metrics-token")
def test_metrics_token_opens_the_metrics_from_anywhere_and_a_wrong_one_does_not(client: Client) -> None:
    ok = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    wrong = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-metrics-toke")
    missing = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert (ok.status_code, wrong.status_code, missing.status_code) == (200, 403, 403)


@pytest.mark.django_db
@override_settings(
    METRICS_ALLOWED_IPS=["127.0.0.1"],
    METRICS_TOKEN="",
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    TRUSTED_PROXY_HOPS=1,
)
def test_behind_the_proxy_a_forged_forwarded_address_does_not_open_the_metrics(client: Client) -> None:
    # given a request relayed by our proxy (127.0.0.1), which appended the real client address
    forged = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1, 198.51.100.7")
    # and one from a monitoring agent on the proxy host itself
    local = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")

    # then the client-supplied first entry is ignored
    assert forged.status_code == 403
    assert local.status_code == 200


@pytest.mark.django_db
@override_settings(METRICS_ALLOWED_IPS=["127.0.0.1"], METRICS_TOKEN="")
def test_metrics_still_answer_when_the_database_is_down(client: Client) -> None:
    with mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=OperationalError("down")):
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert "onewindow_metrics_database_up 0.0" in response.content.decode()


# --- authorisation: every role and anonymous ------------------------------------------------------


@pytest.mark.django_db
@override_settings(METRICS_ALLOWED_IPS=["127.0.0.1"], METRICS_TOKEN="", WORKER_HEARTBEAT_MAX_AGE_SECONDS=120)
@pytest.mark.parametrize("role", [*ALL_ROLES, "anonymous"])
def test_probe_endpoints_are_public_and_metrics_depend_on_the_address_alone(
    role: str, role_users: dict[str, object], client_for: Callable[[object], Client]
) -> None:
    # given a fresh worker, and a caller signed in with this role (or anonymous)
    _heartbeat("worker", age_seconds=1)
    client = Client() if role == "anonymous" else client_for(role_users[role])
    audit_before = AuditRecord.objects.count()
    heartbeats_before = list(WorkerHeartbeat.objects.values_list("name", "last_seen"))

    # when it calls the three endpoints from the monitoring address and from elsewhere
    healthz = client.get("/healthz", REMOTE_ADDR="192.0.2.10")
    readyz = client.get("/readyz", REMOTE_ADDR="192.0.2.10")
    metrics_allowed = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    metrics_elsewhere = client.get("/metrics", REMOTE_ADDR="192.0.2.10")

    # then health and readiness answer everyone, and metrics follow the address whatever the role
    assert healthz.status_code == 200
    assert readyz.status_code == 200
    assert readyz.json()["status"] == "ok"
    assert metrics_allowed.status_code == 200
    assert metrics_elsewhere.status_code == 403
    # and the refused call changed nothing
    assert AuditRecord.objects.count() == audit_before
    assert list(WorkerHeartbeat.objects.values_list("name", "last_seen")) == heartbeats_before


@pytest.mark.django_db
@override_settings(METRICS_ALLOWED_IPS=["127.0.0.1"], METRICS_TOKEN="", WORKER_HEARTBEAT_MAX_AGE_SECONDS=120)
def test_probes_answer_a_staff_session_that_has_not_passed_two_factor_yet(
    role_users: dict[str, object],
) -> None:
    # given a staff member signed in with the password only (no TOTP step yet)
    _heartbeat("worker", age_seconds=1)
    client = Client()
    client.force_login(role_users["system_admin"])  # type: ignore[arg-type]

    # when the probes are called in that session, then they answer as for anyone
    # (while an ordinary page sends that session to the code step)
    statuses = [
        client.get(path, REMOTE_ADDR="127.0.0.1").status_code for path in ("/healthz", "/readyz", "/metrics")
    ]
    assert statuses == [200, 200, 200]
    assert client.get("/").status_code == 302
