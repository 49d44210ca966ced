"""Fixtures for the materials tests: a private MEDIA_ROOT per test, sample files, and a real clamd.

The clamd fixture starts ClamAV's daemon with the tiny signature database in ``tests/clamav/`` (no virus
definitions are downloaded; freshclam is never run). It is session-scoped, so each pytest-xdist worker
starts its own daemon in its own temporary directory. It skips only when ``/usr/sbin/clamd`` is absent.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from onewindow.materials.clamav import ClamdClient, ClamdError

if TYPE_CHECKING:
    from onewindow.applications.models import Application

CLAMD = Path("/usr/sbin/clamd")
SIGNATURES = Path(__file__).parent / "clamav"
# clamd refuses larger streams with "INSTREAM size limit exceeded. ERROR" (used to test a scanner error).
CLAMD_STREAM_MAX = "1M"
CLAMD_START_SECONDS = 60


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Every test stores files in its own empty MEDIA_ROOT, and scanning is off unless a test turns it on."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.CLAMD = ""
    return root


@pytest.fixture
def stored_files(media_root: Path) -> Callable[[], list[Path]]:
    """Lists every file under MEDIA_ROOT."""
    return lambda: sorted(path for path in media_root.rglob("*") if path.is_file())


@pytest.fixture(scope="session")
def clamd_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private clamd for this test session (this xdist worker): yields ``unix:///.../clamd.sock``."""
    if not CLAMD.exists():
        message = f"{CLAMD} is absent: install clamav-daemon (scripts/setup_system.sh) to run the scan tests"
        print(message)  # noqa: T201 - say why in the test output, not only in the skip reason
        pytest.skip(message)
    directory = tmp_path_factory.mktemp("clamd")
    socket_path = directory / "clamd.sock"
    config = directory / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                f"DatabaseDirectory {SIGNATURES}",
                f"LocalSocket {socket_path}",
                f"TemporaryDirectory {directory}",
                f"LogFile {directory / 'clamd.log'}",
                f"PidFile {directory / 'clamd.pid'}",
                f"StreamMaxLength {CLAMD_STREAM_MAX}",
                "Foreground yes",
                "SelfCheck 0",
                "",
            ]
        ),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [str(CLAMD), "--config-file", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    address = f"unix://{socket_path}"
    client = ClamdClient(address, timeout=5)
    deadline = time.monotonic() + CLAMD_START_SECONDS
    try:
        while True:
            if process.poll() is not None:
                log = (directory / "clamd.log").read_text(encoding="utf-8", errors="replace")
                pytest.fail(f"clamd exited with {process.returncode}:\n{log}")
            try:
                if client.ping():
                    break
            except ClamdError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"clamd did not answer PING within {CLAMD_START_SECONDS} s")
            time.sleep(0.2)
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def application(role_users: dict[str, Any]) -> Application:
    """An application by t_resident on the web channel, involving department TDEPT."""
    from django.utils import timezone

    from onewindow.applications.models import Application
    from onewindow.organisations.models import Department
    from onewindow.services.models import Channel, Service, ServiceVersion, VersionStatus

    department = Department.objects.get(code="TDEPT")
    service = Service.objects.create(code="MATTEST", department=department)
    version = ServiceVersion.objects.create(
        service=service, number=1, status=VersionStatus.PUBLISHED, name="测试事项", audience=["resident"]
    )
    resident = role_users["resident"]
    return Application.objects.create(
        tracking_no="350100202611270001",
        service=service,
        version=version,
        channel=Channel.WEB,
        applicant=resident,
        applicant_name="张三",
        applicant_identifier=resident.id_number,
        submitted_by=resident,
        department_codes=["TDEPT"],
        submitted_at=timezone.now(),
    )
