"""Bulk import of the population and legal-entity registers from CSV (issue #5 item 6; docs/registry.md,
"Bulk import — 批量导入").

:func:`persons_import` and :func:`entities_import` read a UTF-8 CSV file with a fixed header row, check
every row as the front-desk actions would (``importing_rows``), and write the valid rows batch by batch
(``importing_writes``); every refused row is listed in ``FILE.rejects.csv`` with its physical line number
(the header is line 1), column, code and reasons in Chinese and English.

- **Streaming**: the file is read once, record by record; memory holds a few batches (plus the divisions
  table), whatever the file's size. Duplicates are found by the database, not by a set of every ID number
  seen: each batch is de-duplicated in memory and inserted with ``ON CONFLICT DO NOTHING``; a row that
  meets a record this import wrote is a duplicate *in the file*, any other a duplicate *in the database*.
- **Resumable and idempotent**: an :class:`~onewindow.registry.models.ImportJob` per kind and file SHA-256.
  Each batch commits together with the job's progress (``lines_done``, ``bytes_done``, counts) in one
  transaction, so after a crash the next run seeks to ``bytes_done`` and goes on; the rejects file is cut
  back to the committed lines first, so no reject is listed twice. A file imported in full adds nothing.
- **Fast**: checking, hashing (HMAC-SM3 blind index) and encryption (AES-256-GCM) run in ``workers``
  forked processes while this process writes; on PostgreSQL each batch goes through ``COPY`` into a
  temporary staging table and one ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`` statement.
- **Audited, not published**: one audit record when a job starts (``registry.import_started``), resumes
  (``registry.import_resumed``), fails (``registry.import_failed``) and finishes
  (``registry.import_finished``), with counts and no personal data. An import moves existing registrations
  into the platform; it changes nobody's registration, so it writes no outbox events.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import gc
import hashlib
import io
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Any, BinaryIO, Final, NamedTuple

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission
from onewindow.accounts.roles import Permission
from onewindow.audit.actions import audit_append
from onewindow.core.errors import RuleViolation
from onewindow.organisations.models import Division
from onewindow.registry.actions import REGISTRY_POPULATION_DEPARTMENT
from onewindow.registry.entities import REGISTRY_ENTITY_DEPARTMENT
from onewindow.registry.importing_rows import (
    ENTITY_COLUMNS,
    PERSON_COLUMNS,
    Checked,
    Checks,
    Lines,
    Reject,
    check_records,
    worker_init,
)
from onewindow.registry.importing_writes import WRITERS, Writer
from onewindow.registry.models import ImportJob, ImportKind, ImportStatus

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ENTITY_COLUMNS",
    "MAX_BATCH_SIZE",
    "PERSON_COLUMNS",
    "REJECT_COLUMNS",
    "ImportConcurrent",
    "ImportResult",
    "default_workers",
    "entities_import",
    "persons_import",
    "rejects_path_for",
]

REJECT_COLUMNS: Final = ("line", "column", "value", "code", "reason_zh", "reason_en")
DEFAULT_BATCH_SIZE: Final = 5000
MAX_BATCH_SIZE: Final = 100_000
_READ_CHUNK = 1 << 20

ProgressCallback = Callable[[int, int], None]  # (bytes done, file size), after each committed batch


@dataclass
class ImportResult:
    """What one run of an import did (``*_now``, ``rows_read``) and where its job stands (``*_total``)."""

    kind: str
    job_id: int
    path: Path
    rejects_path: Path
    already_imported: bool = False
    resumed_from_line: int | None = None
    rows_read: int = 0
    imported_now: int = 0
    rejected_now: int = 0
    imported_total: int = 0
    rejected_total: int = 0
    lines_done: int = 1
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0


class ImportConcurrent(RuleViolation):
    """Another run of the same import holds the file or moved its job on: this run stops and leaves the
    other's job as it is."""


def _refusal(code: str, message_zh: str, message_en: str, *, status: int = 422) -> RuleViolation:
    return RuleViolation(code, message_zh, message_en, field="file", status=status)


def _concurrent() -> ImportConcurrent:
    return ImportConcurrent(
        "import_concurrent",
        "同一文件的另一次导入正在进行或刚刚推进了进度；本次已停止，稍后重新运行即可续传。",
        "Another run of this file's import is going on or has just moved it on; this run stopped. "
        "Run it again later to resume.",
        field="file",
        status=409,
    )


# --- Reading the file -----------------------------------------------------------------------------------


class _Batch(NamedTuple):
    blob: bytes  # whole records, as in the file
    first_line: int  # the physical line the blob starts on
    end_line: int  # the last physical line in it
    end_offset: int  # the byte offset just after it


# A quoted field may hold line breaks (RFC 4180), so a record ends only where the quotes seen so far are
# balanced. A file with an unbalanced quote would make the rest of it one record: past this size the
# record is cut, and the csv module refuses it as a field too large.
_RECORD_MAX_BYTES = 1 << 20


def _batches(handle: BinaryIO, *, line: int, offset: int, size: int) -> Iterator[_Batch]:
    """The raw bytes after physical line ``line`` (at byte ``offset``), cut at record boundaries into blobs of
    about ``size`` records. Parsing is left to the checking processes."""
    parts: list[bytes] = []
    records = 0
    first_line = line + 1
    quotes = 0  # the parity of the quotes of the record being read
    record_bytes = 0
    for raw in iter(handle.readline, b""):
        parts.append(raw)
        line += 1
        offset += len(raw)
        quotes = (quotes + raw.count(b'"')) & 1
        record_bytes += len(raw)
        if quotes and record_bytes < _RECORD_MAX_BYTES:
            continue
        quotes = record_bytes = 0
        records += 1
        if records >= size:
            yield _Batch(b"".join(parts), first_line, line, offset)
            parts, records, first_line = [], 0, line + 1
    if parts:
        yield _Batch(b"".join(parts), first_line, line, offset)


def _header_read(path: Path, columns: Sequence[str]) -> int:
    """Check the header row and return its length in bytes; refuse a file without the expected header."""
    expected = ",".join(columns)
    with path.open("rb") as handle:
        raw = handle.readline(64 * 1024)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refusal(
            "import_encoding_invalid",
            "文件须为 UTF-8 编码（GBK 文件可先转换，例如 iconv -f GBK -t UTF-8）。未导入任何数据。",
            "The file must be UTF-8 (convert a GBK file first, e.g. iconv -f GBK -t UTF-8). "
            "Nothing was imported.",
        ) from None
    found = [name.strip().lower() for name in next(csv.reader([text]), [])] if text.strip() else []
    if found != list(columns):
        shown = ",".join(found)[:300] if found else "（空 / empty）"
        raise _refusal(
            "import_header_invalid",
            f"第 1 行须为表头 {expected}，实际为 {shown}。未导入任何数据。",
            f"Line 1 must be the header {expected}; found {shown}. Nothing was imported.",
        )
    return len(raw)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file for the run: a second run of the same file on this machine is
    refused at once instead of meeting the first one batch by batch."""
    with path.open("rb") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _concurrent() from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# --- The rejects file -----------------------------------------------------------------------------------


def rejects_path_for(path: Path) -> Path:
    """``FILE.rejects.csv`` for ``FILE.csv`` (and ``FILE.txt.rejects.csv`` for ``FILE.txt``)."""
    if path.suffix.lower() == ".csv":
        return path.with_suffix(".rejects.csv")
    return path.with_name(path.name + ".rejects.csv")


def _rejects_kept(path: Path, after_line: int) -> int:
    """The length of the rejects file's header and its rejects of lines up to ``after_line`` (0 when the
    file does not start with the header)."""
    with path.open("rb") as handle:
        lines = Lines(handle, line=0, offset=0)
        reader = csv.reader(lines)
        if next(reader, None) != list(REJECT_COLUMNS):
            return 0
        keep = lines.offset
        for row in reader:
            if not row or not row[0].isdigit() or int(row[0]) > after_line:
                break
            keep = lines.offset
    return keep


def _rejects_open(path: Path, *, resume_after_line: int | None) -> io.TextIOWrapper:
    """The rejects file, ready to append: a new one (header only) for a new job; for a resumed job the
    existing one cut back to the rejects of committed lines, so none is listed twice."""
    if resume_after_line is not None and path.exists():
        keep = _rejects_kept(path, resume_after_line)
        if keep:
            with path.open("r+b") as raw:
                raw.truncate(keep)
            return path.open("a", encoding="utf-8", newline="")
    handle = path.open("w", encoding="utf-8", newline="")
    csv.writer(handle, lineterminator="\n").writerow(REJECT_COLUMNS)
    handle.flush()
    return handle


def _rejects_write(handle: io.TextIOWrapper, rejects: list[Reject], columns: Sequence[str]) -> None:
    """Append a batch's rejects in line and column order and sync them, before the batch commits: a crash
    before the commit is cut back on resume, a crash after it loses nothing."""
    if not rejects:
        return
    order = {name: position for position, name in enumerate(("", *columns))}
    rejects.sort(key=lambda item: (item.line, order.get(item.column, len(order))))
    csv.writer(handle, lineterminator="\n").writerows(rejects)
    handle.flush()
    os.fsync(handle.fileno())


# --- The job --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    kind: str
    columns: tuple[str, ...]
    department_code: str


_PERSONS = _Kind(ImportKind.PERSONS, PERSON_COLUMNS, REGISTRY_POPULATION_DEPARTMENT)
_ENTITIES = _Kind(ImportKind.ENTITIES, ENTITY_COLUMNS, REGISTRY_ENTITY_DEPARTMENT)


def _audit(action: str, job: ImportJob, acting_user: User | None, spec: _Kind, **details: Any) -> None:
    """One audit record about the job: its kind, the file's hash and size, counts; no personal data."""
    audit_append(
        action=f"registry.{action}",
        acting_user=acting_user,
        actor_username="system",
        object_type="import_job",
        object_id=job.pk,
        department_code="" if acting_user is not None else spec.department_code,
        details={"kind": job.kind, "file_sha256": job.file_sha256, "file_size": job.file_size, **details},
    )


def _counts(job: ImportJob) -> dict[str, int]:
    return {"lines_done": job.lines_done, "imported": job.imported, "rejected": job.rejected}


def _job_start(spec: _Kind, path: Path, acting_user: User | None) -> tuple[ImportJob, bool]:
    """The file's job and whether it existed: a new one, or the unfinished (or finished) one of the same
    file (the same kind and SHA-256, wherever the file now lies)."""
    size = path.stat().st_size
    digest = _sha256(path)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(kind=spec.kind, file_sha256=digest).first()
        if job is None:
            job = ImportJob.objects.create(
                kind=spec.kind,
                file_name=str(path)[-500:],
                file_sha256=digest,
                file_size=size,
                acting_user=acting_user,
            )
            _audit("import_started", job, acting_user, spec)
            return job, False
        if job.status != ImportStatus.DONE:
            ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, updated_at=timezone.now())
            _audit("import_resumed", job, acting_user, spec, **_counts(job))
        return job, True


def _job_lock(job: ImportJob) -> None:
    """First thing in a batch's transaction: wait for any other run's batch, then check the job is still
    where this run left it."""
    current = (
        ImportJob.objects.select_for_update().filter(pk=job.pk).values_list("lines_done", "status").first()
    )
    if current != (job.lines_done, ImportStatus.RUNNING):
        raise _concurrent()


def _job_advance(job: ImportJob, batch: _Batch, imported: int, rejected: int) -> None:
    """Record the batch as done, in the batch's transaction."""
    ImportJob.objects.filter(pk=job.pk).update(
        lines_done=batch.end_line,
        bytes_done=batch.end_offset,
        imported=F("imported") + imported,
        rejected=F("rejected") + rejected,
        updated_at=timezone.now(),
    )
    job.lines_done, job.bytes_done = batch.end_line, batch.end_offset
    job.imported += imported
    job.rejected += rejected


def _job_fail(job: ImportJob, acting_user: User | None, spec: _Kind, error: BaseException) -> None:
    try:
        with transaction.atomic():
            ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
                status=ImportStatus.FAILED, updated_at=timezone.now()
            )
            job.refresh_from_db()
            _audit("import_failed", job, acting_user, spec, error=type(error).__name__, **_counts(job))
    except DatabaseError:  # the connection itself failed: the job stays "running" and resumes all the same
        pass


def _job_finish(job: ImportJob, acting_user: User | None, spec: _Kind) -> None:
    with transaction.atomic():
        now = timezone.now()
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DONE, finished_at=now, updated_at=now)
        job.refresh_from_db()
        _audit("import_finished", job, acting_user, spec, **_counts(job))


# --- Running --------------------------------------------------------------------------------------------


def default_workers() -> int:
    """Checking processes by default: one per core."""
    return os.cpu_count() or 1


def _pool(workers: int, checks: Checks) -> Pool | None:
    if workers < 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    # Forked, so the workers inherit settings, keys and the divisions; they never use the database.
    return multiprocessing.get_context("fork").Pool(workers, initializer=worker_init, initargs=(checks,))


@dataclass
class _Run:
    """One run of a job: checks batches (in the pool, or here) while writing the earlier ones in order."""

    spec: _Kind
    path: Path
    job: ImportJob
    acting_user: User | None
    progress: ProgressCallback | None
    result: ImportResult

    def batches_import(self, *, batch_size: int, workers: int, header_bytes: int) -> None:
        today = timezone.localdate()
        checks = Checks(
            kind=self.spec.kind,
            job_id=self.job.pk,
            today=today,
            division_ids=dict(Division.objects.values_list("code", "pk")),
        )
        writer = Writer(
            job_id=self.job.pk,
            acting_user_id=self.acting_user.pk if self.acting_user is not None else None,
            now=timezone.now(),
            today=today,
            sealer=checks.sealer,
        )
        size = self.path.stat().st_size
        offset = max(self.job.bytes_done, header_bytes)
        # The platform's own objects (Django, settings, the divisions) leave the garbage collector's view:
        # full collections, set off by the many short-lived rows, then scan only what the import made.
        gc.freeze()
        pool = _pool(workers, checks)
        # At most one batch being checked per worker, plus the one being written: memory stays flat.
        depth = (workers if pool is not None else 0) + 1
        pending: deque[tuple[_Batch, AsyncResult[Checked] | Checked]] = deque()
        resume_after = self.job.lines_done if self.result.resumed_from_line is not None else None
        try:
            with (
                self.path.open("rb") as handle,
                _rejects_open(self.result.rejects_path, resume_after_line=resume_after) as rejects_file,
            ):
                handle.seek(offset)
                if self.progress is not None:
                    self.progress(offset, size)
                source = _batches(handle, line=self.job.lines_done, offset=offset, size=batch_size)
                for batch in source:
                    if pool is not None:
                        pending.append(
                            (batch, pool.apply_async(check_records, (batch.blob, batch.first_line)))
                        )
                    else:
                        pending.append((batch, check_records(batch.blob, batch.first_line, checks)))
                    while len(pending) >= depth:
                        self._settle(pending.popleft(), writer, rejects_file, size)
                while pending:
                    self._settle(pending.popleft(), writer, rejects_file, size)
            _job_finish(self.job, self.acting_user, self.spec)
        except ImportConcurrent:
            raise
        except BaseException as error:
            _job_fail(self.job, self.acting_user, self.spec, error)
            raise
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
            gc.unfreeze()

    def _settle(
        self,
        pending: tuple[_Batch, AsyncResult[Checked] | Checked],
        writer: Writer,
        rejects_file: io.TextIOWrapper,
        size: int,
    ) -> None:
        """Write one checked batch, its rejects and the job's progress in one transaction."""
        batch, outcome = pending
        checked = outcome.get() if isinstance(outcome, AsyncResult) else outcome
        rejects = checked.rejects
        with transaction.atomic():
            if writer.postgres:
                # The batch and the job's progress commit together, so a commit lost in a crash is simply
                # done again on resume: no need to wait for the WAL to reach the disk.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            _job_lock(self.job)
            added = WRITERS[self.spec.kind](checked.rows, rejects, writer) if checked.rows else 0
            refused = len({item.line for item in rejects})
            _rejects_write(rejects_file, rejects, self.spec.columns)
            _job_advance(self.job, batch, added, refused)
        self.result.rows_read += added + refused
        self.result.imported_now += added
        self.result.rejected_now += refused
        if self.progress is not None:
            self.progress(batch.end_offset, size)


def _run(
    spec: _Kind,
    path: Path | str,
    *,
    acting_user: User | None,
    batch_size: int,
    workers: int | None,
    progress: ProgressCallback | None,
    rejects_path: Path | str | None,
) -> ImportResult:
    started = time.perf_counter()
    if acting_user is not None:
        require_permission(
            acting_user,
            Permission.HANDLE_TASKS,
            department_code=spec.department_code,
            object_type="import_job",
            object_id=f"{spec.kind}_import",
        )
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        message = f"batch_size must be 1–{MAX_BATCH_SIZE}, got {batch_size}"
        raise ValueError(message)
    path = Path(path)
    if not path.is_file():
        raise _refusal(
            "import_file_missing",
            f"文件 {path} 不存在。未导入任何数据。",
            f"File {path} does not exist. Nothing was imported.",
            status=404,
        )
    with _locked(path):
        header_bytes = _header_read(path, spec.columns)
        job, existed = _job_start(spec, path, acting_user)
        result = ImportResult(
            kind=spec.kind,
            job_id=job.pk,
            path=path,
            rejects_path=Path(rejects_path) if rejects_path is not None else rejects_path_for(path),
        )
        if job.status == ImportStatus.DONE:
            result.already_imported = True
        else:
            result.resumed_from_line = job.lines_done if existed else None
            _Run(spec, path, job, acting_user, progress, result).batches_import(
                batch_size=batch_size,
                workers=default_workers() if workers is None else workers,
                header_bytes=header_bytes,
            )
    result.imported_total, result.rejected_total, result.lines_done = (
        job.imported,
        job.rejected,
        job.lines_done,
    )
    result.seconds = time.perf_counter() - started
    return result


def persons_import(
    path: Path | str,
    *,
    acting_user: User | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    rejects_path: Path | str | None = None,
) -> ImportResult:
    """Import persons from a CSV file with the header ``PERSON_COLUMNS`` (docs/registry.md, "Bulk import").

    Each valid row becomes an active ``Person`` (ID number and name encrypted, ``province_code`` from the ID
    number, ``version`` 1) with a ``PersonVersion`` 1 of kind ``imported`` whose reason names the job and the
    line; a household is created from the first row naming it, and the row with relation ``head`` becomes
    its head. Refused rows go to the rejects file (``FILE.rejects.csv`` unless ``rejects_path``).

    ``acting_user`` None is the platform itself (the command line); a user needs ``HANDLE_TASKS`` in the
    public-security department. ``workers``: checking processes (None: one per core; 0: this process).
    ``progress`` is called with (bytes done, file size) after each committed batch.

    Refused as a whole, writing nothing: a missing file, one that is not UTF-8, a wrong header, a file
    another run is importing (:class:`ImportConcurrent`). A file imported in full before adds nothing
    (``already_imported``); an unfinished one resumes after its last committed batch.
    """
    return _run(
        _PERSONS,
        path,
        acting_user=acting_user,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
        rejects_path=rejects_path,
    )


def entities_import(
    path: Path | str,
    *,
    acting_user: User | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    rejects_path: Path | str | None = None,
) -> ImportResult:
    """Import legal entities from a CSV file with the header ``ENTITY_COLUMNS`` (docs/registry.md).

    Each valid row becomes an active ``LegalEntity`` (registration authority ``AMR``; the representative kept
    as the blind index of their ID number and linked to their active ``Person`` when there is one) with a
    ``LegalEntityVersion`` 1 of kind ``imported``. Credit codes are unique and names unique among active
    entities, in the file and in the database. A user needs ``HANDLE_TASKS`` in the market-regulation
    department. Otherwise as :func:`persons_import`.
    """
    return _run(
        _ENTITIES,
        path,
        acting_user=acting_user,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
        rejects_path=rejects_path,
    )
