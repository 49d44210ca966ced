"""The ``onewindow`` command line: run, operate and maintain the platform (docs/operations.md).

Each subcommand sets ``DJANGO_SETTINGS_MODULE`` and either calls a Django management command in this
process or starts the right program (gunicorn for ``serve``). Exit codes are those of the command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import unicodedata
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from onewindow.core.supervisor import ChildSpec, supervise

SETTINGS_MODULE = "config.settings"
DEFAULT_PORT = 8000
DEMO_WEB_WORKERS = 2


def _django_setup(*, environment: str | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    if environment is not None:
        os.environ["ONEWINDOW_ENV"] = environment
    import django

    django.setup()


def _fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def _call(command: str, *arguments: str) -> int:
    """Run a management command in this process; its refusal or exit code becomes ours."""
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import call_command, get_commands
    from django.core.management.base import CommandError
    from django.db import DatabaseError

    if command not in get_commands():
        return _fail(
            f"该命令在此安装中不可用：{command}\nThe management command {command!r} is not available in this "
            "installation."
        )
    try:
        call_command(command, *arguments)
    except CommandError as error:
        return _fail(f"{command}: {error}", error.returncode)
    except ImproperlyConfigured as error:  # the production guard and settings errors
        return _fail(str(error))
    except DatabaseError as error:
        return _fail(_database_message(error))
    except SystemExit as exit_:
        return _exit_code(exit_)
    return 0


def _database_message(error: Exception) -> str:
    return f"数据库错误 / Database error ({type(error).__name__}): {error}"


def _exit_code(exit_: SystemExit) -> int:
    if exit_.code is None or isinstance(exit_.code, int):
        return exit_.code or 0
    return _fail(str(exit_.code))


def _port_from_environment() -> int:
    raw = os.environ.get("PORT", "")
    return int(raw) if raw.isdigit() else DEFAULT_PORT


def default_web_workers() -> int:
    """ONEWINDOW_WEB_WORKERS, else 2 x cores + 1 capped at 8 (each sync worker holds a Django in memory)."""
    raw = os.environ.get("ONEWINDOW_WEB_WORKERS", "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return min(2 * (os.cpu_count() or 1) + 1, 8)


def default_bind() -> str:
    return os.environ.get("ONEWINDOW_BIND") or f"127.0.0.1:{_port_from_environment()}"


def gunicorn_argv(*, workers: int, bind: str, extra: Sequence[str] = ()) -> list[str]:
    """The gunicorn command ``onewindow serve`` runs (settings in config/gunicorn.py)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:config.gunicorn",
        "--workers",
        str(workers),
        "--bind",
        bind,
        *extra,
        "config.wsgi:application",
    ]


# --- subcommands ----------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, extra: list[str]) -> int:
    argv = gunicorn_argv(workers=args.workers, bind=args.bind, extra=extra)
    if args.print_command:
        print(" ".join(argv))
        return 0
    metrics_directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics_directory:
        # prometheus_client writes a file there as soon as a metric gets its labels, which loading Django
        # (for the guard) already does; gunicorn's on_starting then empties it.
        Path(metrics_directory).mkdir(parents=True, exist_ok=True)
    _django_setup()
    from django.db import DatabaseError, connections

    from onewindow.core.guards import DemoAccountsInProductionError, refuse_demo_accounts_in_production

    try:
        refuse_demo_accounts_in_production()
    except DemoAccountsInProductionError as error:
        return _fail(str(error))
    except DatabaseError as error:  # production only: the guard could not look
        return _fail(_database_message(error))
    connections.close_all()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # noqa: S606  (replaces this process: signals go straight to gunicorn)
    return 0  # not reached


def cmd_worker(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    arguments = ["--queues", args.queues, "--interval", str(args.interval)]
    if args.batch:
        arguments.append("--batch")
    if args.max_tasks is not None:
        arguments += ["--max-tasks", str(args.max_tasks)]
    return _call("worker", *arguments)


def cmd_scheduler(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    return _call("scheduler", "--tick", str(args.tick), *(["--once"] if args.once else []))


def cmd_migrate(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    return _call("migrate", *extra)


def cmd_check_deploy(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    return _call("check", "--deploy", "--database", "default", "--fail-level", args.fail_level)


def cmd_audit_verify(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    return _call("audit_verify", *extra)


def cmd_exchange_verify_log(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    return _call("messagelog_verify", *extra)


def cmd_exchange_archive_log(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    arguments = ["--before", args.before] if args.before else []
    return _call("messagelog_archive", *arguments, *extra)


def cmd_exchange_keys(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    arguments = [*(["--user", args.user] if args.user else []), args.keys_command]
    if args.keys_command == "list":
        arguments += [*([args.system] if args.system else []), *(["--json"] if args.json else [])]
    elif args.keys_command == "issue":
        arguments += [args.system, "--algorithm", args.algorithm]
    elif args.keys_command == "register":
        arguments += ["--system", args.system, "--csr", args.csr, *(["--json"] if args.json else [])]
    else:
        arguments += [args.key_id, "--reason", args.reason]
    return _call("exchange_keys", *arguments)


def cmd_exchange_conformance(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    arguments = [*([args.url] if args.url else []), *(["--system", args.system] if args.system else [])]
    arguments += [
        *(["--service", args.service] if args.service else []),
        *(["--query", args.query] if args.query else []),
    ]
    arguments += [*(["--record"] if args.record else []), *(["--json"] if args.json else [])]
    return _call("exchange_conformance", *arguments, "--timeout", str(args.timeout))


def cmd_exchange_gateway_key(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    if args.gateway_key_command == "revoke":
        return _call("exchange_gateway_key", "revoke", args.key_id, "--reason", args.reason)
    return _call("exchange_gateway_key", args.gateway_key_command)


def cmd_federation(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    return _call("federation", *args.arguments, *extra)


def cmd_calendar_import(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    arguments = [args.file, *(["--year", str(args.year)] if args.year is not None else [])]
    arguments += [*(["--dry-run"] if args.dry_run else []), *(["--note", args.note] if args.note else [])]
    return _call("calendar_import", *arguments, *extra)


def cmd_registry_import(args: argparse.Namespace, extra: list[str]) -> int:
    _django_setup()
    arguments = [args.kind, args.file]
    arguments += ["--batch-size", str(args.batch_size)] if args.batch_size is not None else []
    arguments += ["--workers", str(args.workers)] if args.workers is not None else []
    arguments += [
        *(["--rejects", args.rejects] if args.rejects else []),
        *(["--user", args.user] if args.user else []),
    ]
    arguments += ["--no-progress"] if args.no_progress else []
    return _call("registry_import", *arguments, *extra)


def cmd_manage(args: argparse.Namespace, extra: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["onewindow manage", *args.arguments, *extra])
    except SystemExit as exit_:
        return _exit_code(exit_)
    return 0


# --- demo -----------------------------------------------------------------------------------------


def demo_children(
    *, port: int, web_workers: int = DEMO_WEB_WORKERS, metrics_directory: Path | None = None
) -> list[ChildSpec]:
    """The three processes of ``onewindow demo``: web (gunicorn), background worker and scheduler.

    With ``metrics_directory`` the web workers share their Prometheus counters through it (multiprocess
    mode); only gunicorn gets it, because gunicorn empties the directory when it starts.
    """
    cli = [sys.executable, "-m", "onewindow.cli"]
    web_env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_directory)} if metrics_directory is not None else {}
    serve = [*cli, "serve", "--workers", str(web_workers), "--bind", f"127.0.0.1:{port}"]
    return [
        ChildSpec("web", serve, extra_env=web_env),
        ChildSpec("worker", [*cli, "worker"]),
        ChildSpec("scheduler", [*cli, "scheduler"]),
    ]


def demo_accounts_table(path: Path) -> str:
    """The demo accounts file (written by ``demo_load``) as a table for the terminal."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return f"（未找到演示账户文件 / no demo accounts file at {path}）"
    rows = [("username / 用户名", "password / 密码", "roles / 角色")]
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        roles = entry.get("roles") or []
        role_names = ", ".join(
            f"{role.get('role')}@{role['department_code']}"
            if role.get("department_code")
            else str(role.get("role"))
            for role in roles
            if isinstance(role, dict)
        )
        rows.append(
            (
                str(entry.get("username", "")),
                str(entry.get("password", "")),
                role_names or str(entry.get("kind", "")),
            )
        )
    widths = [max(_display_width(row[column]) for row in rows) for column in range(2)]
    lines = [
        f"  {_padded(row[0], widths[0])}  {_padded(row[1], widths[1])}  {row[2]}".rstrip() for row in rows
    ]
    return "\n".join(lines)


def _display_width(text: str) -> int:
    """Columns a terminal gives ``text``: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1 for char in text)


def _padded(text: str, width: int) -> str:
    return text + " " * (width - _display_width(text))


def _healthz_answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=0.5) as response:  # noqa: S310  (our URL)
                return bool(response.status == 200)
        except OSError:
            return False

    return check


def cmd_demo(args: argparse.Namespace, extra: list[str]) -> int:
    if os.environ.get("ONEWINDOW_ENV") == "production":
        return _fail(
            "演示模式不能在 ONEWINDOW_ENV=production 下运行。\n"
            "The demo refuses to run with ONEWINDOW_ENV=production."
        )
    port: int = args.port
    os.environ["ONEWINDOW_ENV"] = "demo"
    os.environ.setdefault("ONEWINDOW_LOG_FORMAT", "console")
    _django_setup(environment="demo")
    from django.conf import settings

    print("Applying database migrations... / 正在执行数据库迁移……", flush=True)
    code = _call("migrate", "--no-input", "--verbosity", "0")
    if code:
        return code
    if not args.no_load:
        code = _call("demo_load")
        if code:
            return code
    from django.db import connections

    connections.close_all()
    url = f"http://127.0.0.1:{port}"
    print(f"\nOneWindow demo / 一窗通办演示: {url}\n")
    print(demo_accounts_table(Path(settings.VAR_DIR) / "demo-accounts.json"))
    print(
        "\nStaff sign in with a TOTP code: onewindow manage demo_totp USERNAME\n"
        "工作人员登录需动态口令：onewindow manage demo_totp 用户名\n"
        "Press Ctrl-C to stop / 按 Ctrl-C 停止\n",
        flush=True,
    )
    # One set of counters for the web workers (see onewindow/core/exposition.py).
    metrics_directory = Path(
        os.environ.get("PROMETHEUS_MULTIPROC_DIR") or Path(settings.VAR_DIR) / "prometheus"
    )
    return supervise(
        demo_children(port=port, web_workers=args.web_workers, metrics_directory=metrics_directory),
        env=os.environ,
        ready_check=_healthz_answers(url),
        on_ready=lambda: print(f"Ready / 已就绪: {url}", flush=True),
    )


# --- parser ---------------------------------------------------------------------------------------

Handler = Callable[[argparse.Namespace, list[str]], int]


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        message = f"must be at least 1, got {value}"
        raise argparse.ArgumentTypeError(message)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onewindow",
        description="OneWindow (一窗通办) command line: run, operate and maintain the platform.",
        epilog="Each subcommand has its own --help. Settings come from the environment "
        "(docs/configuration.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, handler: Handler, help_text: str, *, passthrough: bool = False
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler, passthrough=passthrough)
        return sub

    demo = add(
        "demo",
        cmd_demo,
        "Run the demo: migrate, load demo data, then web server, worker and scheduler together until Ctrl-C.",
    )
    demo.add_argument(
        "--port",
        type=_positive_int,
        default=_port_from_environment(),
        help="Port on 127.0.0.1 (default: $PORT or 8000).",
    )
    demo.add_argument(
        "--web-workers",
        type=_positive_int,
        default=DEMO_WEB_WORKERS,
        help=f"gunicorn workers (default {DEMO_WEB_WORKERS}).",
    )
    demo.add_argument("--no-load", action="store_true", help="Do not (re)load the demo data.")

    serve = add(
        "serve",
        cmd_serve,
        "Run the production web server (gunicorn, settings in config/gunicorn.py). Options after -- go to "
        "gunicorn.",
        passthrough=True,
    )
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=default_web_workers(),
        help="Web worker processes (default: $ONEWINDOW_WEB_WORKERS, else 2 x cores + 1, at most 8).",
    )
    serve.add_argument(
        "--bind",
        default=default_bind(),
        help="HOST:PORT or unix:PATH (default: $ONEWINDOW_BIND, else 127.0.0.1:$PORT or 8000).",
    )
    serve.add_argument("--print-command", action="store_true", help="Print the gunicorn command and exit.")

    worker = add("worker", cmd_worker, "Run a background worker (database task queue, django-tasks-db).")
    worker.add_argument(
        "--queues", default="*", help="Queues to process, comma-separated; '*' for all (default)."
    )
    worker.add_argument(
        "--interval", type=float, default=1.0, help="Seconds between polls of an empty queue."
    )
    worker.add_argument("--batch", action="store_true", help="Run the outstanding tasks, then exit.")
    worker.add_argument("--max-tasks", type=_positive_int, default=None, help="Exit after this many tasks.")

    scheduler = add("scheduler", cmd_scheduler, "Run the scheduler of periodic jobs (enqueues their tasks).")
    scheduler.add_argument("--once", action="store_true", help="Run the jobs due now, then exit.")
    scheduler.add_argument("--tick", type=float, default=5.0, help="Seconds between checks (default 5).")

    add(
        "migrate",
        cmd_migrate,
        "Apply database migrations (options are passed to Django's migrate).",
        passthrough=True,
    )

    check = add(
        "check-deploy",
        cmd_check_deploy,
        "Check the deployment: Django's check --deploy with the database, and the demo-account guard.",
    )
    check.add_argument(
        "--fail-level",
        default="ERROR",
        choices=["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"],
        help="Message level that makes the check fail (default ERROR).",
    )

    audit = add("audit", _missing_subcommand, "Audit trail commands.")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = audit_commands.add_parser(
        "verify",
        help="Verify the audit hash chain (and its anchors); non-zero exit if it was tampered with.",
        description="Verify the audit hash chain (manage.py audit_verify); further options are passed to it.",
    )
    verify.set_defaults(handler=cmd_audit_verify, passthrough=True)

    exchange = add("exchange", _missing_subcommand, "Inter-department exchange commands (交换体系).")
    exchange_commands = exchange.add_subparsers(dest="exchange_command", required=True, metavar="COMMAND")
    verify_log = exchange_commands.add_parser(
        "verify-log",
        help="Verify the message log's hash chain and archive segments; non-zero exit if tampered with.",
        description="Verify the exchange message log (manage.py messagelog_verify); further options are "
        "passed to it.",
    )
    verify_log.set_defaults(handler=cmd_exchange_verify_log, passthrough=True)
    archive_log = exchange_commands.add_parser(
        "archive-log",
        help="Move message log records older than DATE into chained, compressed archive segments.",
        description="Archive the message log (manage.py messagelog_archive); further options are passed "
        "to it.",
    )
    archive_log.add_argument(
        "--before",
        default="",
        metavar="DATE",
        help="YYYY-MM-DD or ISO 8601 time (default: ONEWINDOW_MESSAGELOG_LIVE_DAYS ago).",
    )
    archive_log.set_defaults(handler=cmd_exchange_archive_log, passthrough=True)
    keys = exchange_commands.add_parser(
        "keys",
        help="List, issue (rotate), register or revoke subsystem signing keys.",
        description="Subsystem signing keys (manage.py exchange_keys): the audited actions of the pages.",
    )
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    keys_list = keys_commands.add_parser("list", help="List keys, every status (of one subsystem).")
    keys_list.add_argument("system", nargs="?", default="", help="Subsystem (information system) code.")
    keys_list.add_argument("--json", action="store_true", help="Print one JSON array.")
    keys_issue = keys_commands.add_parser("issue", help="Issue the next key; the active one is retired.")
    keys_issue.add_argument("system", help="Subsystem (information system) code.")
    keys_issue.add_argument("--algorithm", default="SM2-SM3", choices=["SM2-SM3", "Ed25519"])
    keys_revoke = keys_commands.add_parser("revoke", help="Revoke a key at once (final).")
    keys_revoke.add_argument("key_id", metavar="KEY_ID", help="The key's id.")
    keys_revoke.add_argument("--reason", required=True, help="Why (recorded in the audit trail).")
    keys_register = keys_commands.add_parser(
        "register", help="Register the subsystem's own key from its certificate request (CSR)."
    )
    keys_register.add_argument("--system", required=True, help="Subsystem (information system) code.")
    keys_register.add_argument("--csr", required=True, metavar="FILE", help="PKCS#10 request, PEM or DER.")
    keys_register.add_argument("--json", action="store_true", help="Print the registered key as JSON.")
    for keys_command in (keys_list, keys_issue, keys_revoke, keys_register):
        keys_command.add_argument("--user", default="", help="Act as this account (default: the system).")
        keys_command.set_defaults(handler=cmd_exchange_keys)

    conformance = exchange_commands.add_parser(
        "conformance",
        help="Check an external system's endpoint against the exchange's rules; exit 0 only if all pass.",
        description="Conformance check (manage.py exchange_conformance): signatures both ways, refusals in "
        "the exchange's error format, replay and timestamp checks, metaservices. --record stores the result "
        "on the systems register (needed to approve a planned system).",
    )
    conformance.add_argument("url", nargs="?", default="", metavar="URL", help="The endpoint's base URL.")
    conformance.add_argument(
        "--system", default="", help="Information system code (its endpoint by default)."
    )
    conformance.add_argument("--service", default="", help="Service code to call (default: from OpenAPI).")
    conformance.add_argument("--query", default="", help="Query to send, a JSON object.")
    conformance.add_argument("--record", action="store_true", help="Record the result (needs --system).")
    conformance.add_argument("--json", action="store_true", help="Print the report as one JSON object.")
    conformance.add_argument("--timeout", type=float, default=10.0, help="Seconds per request (default 10).")
    conformance.set_defaults(handler=cmd_exchange_conformance)
    gateway_key = exchange_commands.add_parser(
        "gateway-key",
        help="Show, rotate or revoke the exchange gateway's signing key (what adapters verify).",
        description="The gateway's signing key (manage.py exchange_gateway_key).",
    )
    gateway_key_commands = gateway_key.add_subparsers(
        dest="gateway_key_command", required=True, metavar="COMMAND"
    )
    gateway_key_commands.add_parser("show", help="The active key, its certificate and the root (PEM).")
    gateway_key_commands.add_parser("issue", help="A new key; the active one is retired.")
    gateway_key_revoke = gateway_key_commands.add_parser("revoke", help="Revoke a key at once (final).")
    gateway_key_revoke.add_argument("key_id", metavar="KEY_ID", help="The key's id.")
    gateway_key_revoke.add_argument("--reason", required=True, help="Why (recorded in the audit trail).")
    gateway_key.set_defaults(handler=cmd_exchange_gateway_key)

    federation = add(
        "federation",
        cmd_federation,
        "Federation with other OneWindow nodes: node, root, peer-add, peer-list, peer-revoke, refresh, "
        "grant, sync, replay, purge (manage.py federation; docs/federation.md).",
    )
    federation.add_argument(
        "arguments",
        nargs=argparse.REMAINDER,
        metavar="SUBCOMMAND [ARGS...]",
        help="The federation subcommand and its arguments (try: onewindow federation --help).",
    )
    federation.set_defaults(passthrough=True)

    calendar = add("calendar", _missing_subcommand, "Working-day calendar commands.")
    calendar_commands = calendar.add_subparsers(dest="calendar_command", required=True, metavar="COMMAND")
    calendar_import = calendar_commands.add_parser(
        "import",
        help="Load a year's holidays and make-up working days (State Council notice) from FILE.",
        description="Import a holiday schedule (manage.py calendar_import); other options are passed to it.",
    )
    calendar_import.add_argument("file", metavar="FILE", help="CSV (date,kind,name) or JSON file, one year.")
    calendar_import.add_argument("--year", type=int, default=None, help="The year the file must describe.")
    calendar_import.add_argument(
        "--dry-run", action="store_true", help="Check the file and report; change nothing."
    )
    calendar_import.add_argument(
        "--note", default="", help="Recorded with the year, e.g. the notice's number."
    )
    calendar_import.set_defaults(handler=cmd_calendar_import, passthrough=True)

    registry = add("registry", _missing_subcommand, "Base registry commands (population, legal entities).")
    registry_commands = registry.add_subparsers(dest="registry_command", required=True, metavar="COMMAND")
    registry_import = registry_commands.add_parser(
        "import",
        help="Bulk import persons or legal entities from CSV (resumable; rejects in FILE.rejects.csv).",
        description="Bulk import into the population or legal-entity register (manage.py registry_import); "
        "exit 0 all imported, 3 some rows refused, 1 refused or failed (run again to resume). Other options "
        "are passed to it.",
    )
    registry_import.add_argument("kind", choices=["persons", "entities"], help="Which register.")
    registry_import.add_argument("file", metavar="FILE", help="UTF-8 CSV file with the header row.")
    registry_import.add_argument(
        "--batch-size", type=_positive_int, default=None, help="Rows per transaction."
    )
    registry_import.add_argument(
        "--workers", type=int, default=None, help="Checking processes (default: one per core; 0: none)."
    )
    registry_import.add_argument("--rejects", default="", help="Rejects file (default FILE.rejects.csv).")
    registry_import.add_argument("--user", default="", help="Username of the staff member importing.")
    registry_import.add_argument("--no-progress", action="store_true", help="No progress bar on stderr.")
    registry_import.set_defaults(handler=cmd_registry_import, passthrough=True)

    manage = add(
        "manage", cmd_manage, "Run any Django management command: onewindow manage COMMAND [ARGS...]."
    )
    manage.add_argument(
        "arguments",
        nargs=argparse.REMAINDER,
        metavar="COMMAND [ARGS...]",
        help="The management command and its arguments (try: onewindow manage help).",
    )
    manage.set_defaults(passthrough=True)
    return parser


def _missing_subcommand(
    args: argparse.Namespace, extra: list[str]
) -> int:  # pragma: no cover  (argparse requires one)
    return _fail("a subcommand is required; see --help")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(list(argv) if argv is not None else None)
    if extra and not args.passthrough:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra and extra[0] == "--":
        extra = extra[1:]
    handler: Handler = args.handler
    return handler(args, extra)


if __name__ == "__main__":
    sys.exit(main())
