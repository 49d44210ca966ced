"""PAdES signing with an optional RFC 3161 signature timestamp (ETSI EN 319 142-1 baseline B-B / B-T), shared
by the licences and the letters (docs/signatures.md). pyHanko is imported when a PDF is signed, not when
this module is: it is a heavy import and most processes never sign.

``ONEWINDOW_TSA_URL`` names the timestamp server; unset, PDFs are signed B-B.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.conf import settings

# Room for the CMS signature without a timestamp: two certificates and an ECDSA signature take about 2 KB.
RESERVED_WITHOUT_TIMESTAMP = 8192
Result = TypeVar("Result")


def outside_event_loop(work: Callable[[], Result]) -> Result:
    """Run ``work`` here, or in a worker thread when this thread runs an asyncio event loop: pyHanko's
    synchronous functions call ``asyncio.run``, which refuses to nest (ASGI code, Playwright tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


class TimestampUnavailable(Exception):  # noqa: N818 - reads as what happened
    """The configured timestamp server did not give a timestamp (the PDF cannot be signed B-T)."""


def timestamper_configured() -> Any | None:
    """pyHanko's RFC 3161 client for ``ONEWINDOW_TSA_URL``, or None when no timestamp server is set."""
    if not settings.TSA_URL:
        return None
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return HTTPTimeStamper(settings.TSA_URL, timeout=settings.TSA_TIMEOUT_SECONDS)


def pades_sign(pdf: bytes, *, metadata: Any, signer: Any, timestamped: bool = True) -> tuple[bytes, str]:
    """Sign ``pdf`` (PAdES, pyHanko ``metadata``) with a seal's ``signer``: baseline B-T with an RFC 3161
    signature timestamp from ``ONEWINDOW_TSA_URL`` when it is set and ``timestamped``, else B-B. Returns the
    signed bytes and the level. ``TimestampUnavailable`` if the timestamp server does not answer."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.timestamps import TimestampRequestError

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    timestamper = timestamper_configured() if timestamped else None
    try:
        output = outside_event_loop(
            lambda: signers.sign_pdf(
                writer,
                metadata,
                signer=signer,
                timestamper=timestamper,
                bytes_reserved=None if timestamper else RESERVED_WITHOUT_TIMESTAMP,
            )
        )
    except TimestampRequestError as error:
        raise TimestampUnavailable(str(error)) from error
    except SigningError as error:
        if isinstance(error.__cause__, TimestampRequestError):
            raise TimestampUnavailable(str(error.__cause__)) from error
        raise
    return bytes(output.getvalue()), ("B-T" if timestamper else "B-B")
