"""OneWindow's cryptography: the national algorithms SM2, SM3, SM4, and the international ones PDFs need.

A plain Python package (no Django), so that it can be used and tested on its own. Modules:

* :mod:`onewindow.crypto.sm2`: SM2 signatures with the signer ID and Z value, key import/export (PKCS#8,
  SubjectPublicKeyInfo with the SM2 OID 1.2.156.10197.1.301), DER and raw ``r || s`` signatures;
* :mod:`onewindow.crypto.sm3`: SM3 digests; :mod:`onewindow.crypto.mac`: HMAC-SM3;
* :mod:`onewindow.crypto.sm4`: SM4-GCM authenticated encryption;
* :mod:`onewindow.crypto.ecdsa`, :mod:`onewindow.crypto.ed25519`: ECDSA P-256/SHA-256 and Ed25519;
* :mod:`onewindow.crypto.keys`: the :class:`Signer` / :class:`Verifier` key interface that an HSM (PKCS#11)
  can implement later.

docs/crypto.md describes the algorithms, the choice of the SM2 package and the HSM plan.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature, InvalidTag

from onewindow.crypto.keys import (
    Algorithm,
    Signer,
    Verifier,
    generate_signer,
    load_signer,
    load_verifier,
    signature_is_valid,
)
from onewindow.crypto.mac import hmac_sm3, hmac_sm3_verify
from onewindow.crypto.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey, SM2PublicKey
from onewindow.crypto.sm3 import sm3, sm3_hex
from onewindow.crypto.sm4 import SM4GCM, sm4_gcm_open, sm4_gcm_seal

__all__ = [
    "DEFAULT_SIGNER_ID",
    "SM4GCM",
    "Algorithm",
    "InvalidSignature",
    "InvalidTag",
    "SM2PrivateKey",
    "SM2PublicKey",
    "Signer",
    "Verifier",
    "generate_signer",
    "hmac_sm3",
    "hmac_sm3_verify",
    "load_signer",
    "load_verifier",
    "signature_is_valid",
    "sm3",
    "sm3_hex",
    "sm4_gcm_open",
    "sm4_gcm_seal",
]
