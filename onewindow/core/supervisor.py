"""Run several processes as one (``onewindow demo``): all start, and if one stops, all stop.

No Django here: the supervisor only starts, watches and stops child processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: Sequence[str]
    extra_env: Mapping[str, str] = field(default_factory=dict)  # on top of the supervisor's environment


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # noqa: T201  (the operator's terminal)


def _stop_all(processes: Mapping[str, subprocess.Popen[bytes]], *, timeout: float) -> bool:
    """SIGTERM every child still running, wait up to ``timeout`` seconds in all, then SIGKILL the rest.

    Only the child itself gets SIGTERM (gunicorn's master stops its own workers gracefully); a child that
    outlives the timeout is killed with its whole process group, so no grandchild keeps the port. Returns
    True when every child stopped on its own.
    """
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    clean = True
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            clean = False
            _say(f"{name} did not stop within {timeout:g} s; killing it / {name} 未能按时停止，强制结束")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return clean


def supervise(
    children: Sequence[ChildSpec],
    *,
    env: Mapping[str, str] | None = None,
    stop_timeout: float = 15.0,
    poll_interval: float = 0.2,
    ready_check: Callable[[], bool] | None = None,
    on_ready: Callable[[], None] | None = None,
) -> int:
    """Start ``children`` and wait; return the exit code for the whole group.

    SIGINT (Ctrl-C) or SIGTERM stops every child cleanly and returns 0. If a child exits by itself, the
    others are stopped and its exit code is returned (1 if it exited with 0: it was not meant to stop).
    Each child gets its own session, so Ctrl-C in the terminal reaches only this supervisor, which then
    signals each child exactly once. ``on_ready`` is called once ``ready_check`` first returns True.
    """
    stop_requested: list[int] = []

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop_requested.append(signum)

    previous: dict[int, Any] = {
        sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    exit_code = 0
    try:
        base_env = dict(env if env is not None else os.environ)
        for child in children:
            processes[child.name] = subprocess.Popen(  # noqa: S603  (argv lists built by our own code)
                list(child.argv), env={**base_env, **child.extra_env}, start_new_session=True
            )
        ready = ready_check is None
        while not stop_requested:
            exited = next(
                ((name, code) for name, process in processes.items() if (code := process.poll()) is not None),
                None,
            )
            if exited is not None:
                name, code = exited
                _say(f"{name} exited with code {code}; stopping the others / {name} 已退出，正在停止其余进程")
                # Killed by a signal shows as -N; a shell would report 128 + N.
                exit_code = 128 - code if code < 0 else (code or 1)
                break
            if not ready and ready_check is not None and ready_check():
                ready = True
                if on_ready is not None:
                    on_ready()
            time.sleep(poll_interval)
        if stop_requested:
            _say("Stopping... / 正在停止……")
    finally:
        clean = _stop_all(processes, timeout=stop_timeout)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if exit_code == 0 and not clean:
        exit_code = 1
    return exit_code
