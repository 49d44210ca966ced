"""SM3, the national hash algorithm (GB/T 32905-2016), through ``cryptography`` (OpenSSL).

SM3 gives 256-bit digests with a 512-bit block, like SHA-256. It is the digest of SM2 signatures (GB/T
32918.2) and of HMAC-SM3 (:mod:`onewindow.crypto.mac`).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

DIGEST_SIZE = 32
BLOCK_SIZE = 64


def sm3(data: bytes) -> bytes:
    """The 32-byte SM3 digest of ``data``."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def sm3_hex(data: bytes) -> str:
    """The SM3 digest of ``data`` as 64 lower-case hex characters."""
    return sm3(data).hex()


def sm3_hasher() -> hashes.Hash:
    """An incremental SM3 (``update`` any number of times, then ``finalize``), for large or streamed data."""
    return hashes.Hash(hashes.SM3())
