"""Readiness checks behind ``/readyz``: database reachable, migrations applied, worker heartbeat fresh."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal, NotRequired, TypedDict

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from onewindow.core.models import WorkerHeartbeat
from onewindow.core.tasks import WORKER_HEARTBEAT_NAME

SCHEDULER_HEARTBEAT_NAME = "scheduler"


class CheckResult(TypedDict):
    status: Literal["ok", "failed"]
    reason: NotRequired[str]
    reason_zh: NotRequired[str]


class Readiness(TypedDict):
    status: Literal["ok", "failed"]
    database: CheckResult
    migrations: CheckResult
    worker: CheckResult


OK: CheckResult = {"status": "ok"}


def _failed(reason: str, reason_zh: str) -> CheckResult:
    return {"status": "failed", "reason": reason, "reason_zh": reason_zh}


def database_check() -> CheckResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        # The class name only: driver messages can carry the host, user or database name.
        return _failed(
            f"database unreachable ({type(error).__name__})", f"数据库无法连接（{type(error).__name__}）"
        )
    return OK


def migrations_check() -> CheckResult:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        return OK
    names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _backwards in plan[:5])
    more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
    return _failed(
        f"{len(plan)} migration(s) not applied: {names}{more}; run `onewindow migrate`",
        f"有 {len(plan)} 个数据库迁移尚未执行：{names}；请运行 `onewindow migrate`",
    )


def heartbeat_age_seconds(heartbeat: WorkerHeartbeat, *, now: datetime) -> float:
    return max(0.0, (now - heartbeat.last_seen).total_seconds())


def worker_check(*, now: datetime | None = None) -> CheckResult:
    now = now or timezone.now()
    max_age = settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS
    heartbeats = {row.name: row for row in WorkerHeartbeat.objects.all()}
    worker = heartbeats.get(WORKER_HEARTBEAT_NAME)
    scheduler = heartbeats.get(SCHEDULER_HEARTBEAT_NAME)
    # The worker heartbeat is a task the scheduler enqueues: say which of the two is silent.
    if scheduler is None:
        scheduler_en, scheduler_zh = "the scheduler has never run", "调度器从未运行"
    else:
        scheduler_age = round(heartbeat_age_seconds(scheduler, now=now))
        scheduler_en = f"the scheduler was last seen {scheduler_age} s ago"
        scheduler_zh = f"调度器最近一次心跳在 {scheduler_age} 秒前"
    if worker is None:
        return _failed(
            f"no worker heartbeat yet ({scheduler_en}); start `onewindow worker` and `onewindow scheduler`",
            f"尚无后台任务进程心跳（{scheduler_zh}）；请启动 `onewindow worker` 和 `onewindow scheduler`",
        )
    age = heartbeat_age_seconds(worker, now=now)
    if age > max_age:
        return _failed(
            f"worker heartbeat is {round(age)} s old, more than {max_age} s ({scheduler_en})",
            f"后台任务进程心跳已 {round(age)} 秒未更新，超过 {max_age} 秒（{scheduler_zh}）",
        )
    return OK


def _guarded(check: Callable[[], CheckResult]) -> CheckResult:
    try:
        return check()
    except DatabaseError as error:
        # Connected, but a table is missing (database not migrated) or the connection dropped meanwhile.
        return _failed(f"database error ({type(error).__name__})", f"数据库错误（{type(error).__name__}）")


def readiness() -> Readiness:
    """Run the three checks; the later ones are skipped (failed) when the database is unreachable."""
    database = database_check()
    if database["status"] != "ok":
        skipped = _failed("not checked: database unreachable", "未检查：数据库无法连接")
        return {"status": "failed", "database": database, "migrations": skipped, "worker": skipped}
    migrations = _guarded(migrations_check)
    worker = _guarded(worker_check)
    healthy = migrations["status"] == "ok" and worker["status"] == "ok"
    return {
        "status": "ok" if healthy else "failed",
        "database": database,
        "migrations": migrations,
        "worker": worker,
    }
