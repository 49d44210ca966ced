"""``onewindow demo`` runs web, worker and scheduler as one: Ctrl-C stops all, and one dying stops all.

Small Python children stand in for gunicorn, the worker and the scheduler; they record how they ended.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from onewindow.core.supervisor import ChildSpec, supervise

# A child that records its pid, then waits; on SIGTERM it records "stopped" and exits 0.
WAITER = """
import os, signal, sys, time
marker = sys.argv[1]
def stop(signum, frame):
    with open(marker, "a") as handle:
        handle.write("stopped\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
with open(marker, "w") as handle:
    handle.write(f"{os.getpid()}\\n")
time.sleep(60)
"""

# A child that, once the others had time to start, presses Ctrl-C on its parent (the supervisor).
CTRL_C = """
import os, signal, sys, time
time.sleep(float(sys.argv[1]))
os.kill(os.getppid(), signal.SIGINT)
time.sleep(60)
"""

# A child that ignores SIGTERM: it must be killed after the timeout.
STUBBORN = """
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[1], "w").close()
time.sleep(60)
"""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_stops_every_child_cleanly(tmp_path: Path) -> None:
    # given two long-running children and one that sends SIGINT to the supervisor after a second
    web, worker = tmp_path / "web", tmp_path / "worker"
    children = [
        ChildSpec("web", [sys.executable, "-c", WAITER, str(web)]),
        ChildSpec("worker", [sys.executable, "-c", WAITER, str(worker)]),
        ChildSpec("keyboard", [sys.executable, "-c", CTRL_C, "1.5"]),
    ]
    handler_before = signal.getsignal(signal.SIGINT)

    # when they are supervised until the Ctrl-C
    code = supervise(children, stop_timeout=10, poll_interval=0.05)

    # then the supervisor exits 0, each child was stopped by SIGTERM, none is left running
    assert code == 0
    for marker in (web, worker):
        pid_line, *rest = marker.read_text().splitlines()
        assert rest == ["stopped"]
        assert not _pid_alive(int(pid_line))
    # and the supervisor gave the SIGINT handler back
    assert signal.getsignal(signal.SIGINT) == handler_before


def test_a_child_that_dies_stops_the_others_and_its_code_is_returned(tmp_path: Path) -> None:
    # given a long-running child and one that fails after a moment
    web = tmp_path / "web"
    children = [
        ChildSpec("web", [sys.executable, "-c", WAITER, str(web)]),
        ChildSpec("worker", [sys.executable, "-c", "import time, sys; time.sleep(1.0); sys.exit(3)"]),
    ]

    # when supervised
    code = supervise(children, stop_timeout=10, poll_interval=0.05)

    # then the failure's exit code comes back and the other child was stopped
    assert code == 3
    assert web.read_text().splitlines()[1:] == ["stopped"]


def test_a_child_that_exits_with_zero_still_counts_as_a_failure() -> None:
    children = [ChildSpec("scheduler", [sys.executable, "-c", "pass"])]
    assert supervise(children, stop_timeout=5, poll_interval=0.05) == 1


def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    # given a child that ignores SIGTERM, and another that fails once the first is up
    started = tmp_path / "started"
    children = [
        ChildSpec("stubborn", [sys.executable, "-c", STUBBORN, str(started)]),
        ChildSpec("failing", [sys.executable, "-c", "import time, sys; time.sleep(1.5); sys.exit(2)"]),
    ]

    # when supervised with a short stop timeout
    began = time.monotonic()
    code = supervise(children, stop_timeout=1, poll_interval=0.05)

    # then it returns the failure's code within about the timeout, the stubborn child killed
    assert code == 2
    assert started.exists()
    assert time.monotonic() - began < 10


def test_ready_callback_runs_once_when_the_check_first_passes(tmp_path: Path) -> None:
    checks: list[bool] = []
    ready: list[str] = []

    def check() -> bool:
        checks.append(True)
        return len(checks) >= 3

    children = [ChildSpec("short", [sys.executable, "-c", "import time; time.sleep(1.0)"])]
    supervise(
        children, stop_timeout=5, poll_interval=0.05, ready_check=check, on_ready=lambda: ready.append("ok")
    )
    assert ready == ["ok"]
    assert len(checks) == 3


def test_each_child_gets_the_environment_plus_its_own_variables(tmp_path: Path) -> None:
    # given two children recording two variables, one child with an extra variable of its own
    script = (
        "import os, sys, time\n"
        "open(sys.argv[1], 'w').write(os.environ.get('SHARED', '') + '|' + os.environ.get('OWN', ''))\n"
        "time.sleep(60)\n"
    )
    web, worker = tmp_path / "web", tmp_path / "worker"
    children = [
        ChildSpec("web", [sys.executable, "-c", script, str(web)], extra_env={"OWN": "web-only"}),
        ChildSpec("worker", [sys.executable, "-c", script, str(worker)]),
        ChildSpec("ender", [sys.executable, "-c", "import time; time.sleep(1.5)"]),
    ]

    # when supervised until the third child ends
    supervise(
        children, env={"SHARED": "everyone", "PATH": os.environ["PATH"]}, stop_timeout=5, poll_interval=0.05
    )

    # then only the web child saw its own variable
    assert web.read_text() == "everyone|web-only"
    assert worker.read_text() == "everyone|"
