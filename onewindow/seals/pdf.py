"""A pyHanko ``Signer`` that signs with a seal's ECDSA key through the key store (PAdES, ISO 32000-2).

Obtain one only from ``actions.seal_pdf_signer`` / ``actions.seal_pdf_signer_for_decision``, which authorise
and audit. It signs through an opened :class:`onewindow.crypto.keys.Signer` from the key store
(``KeyStore.signer``), never key bytes, so the database key store and an HSM (a PKCS#11 session and object
handle behind the same interface) plug in the same way; pyHanko runs ``async_sign_raw`` inside its event
loop, where the database must not be touched, which is why the key is opened beforehand. The signer embeds
the seal's certificate and the platform root. ECDSA P-256 with SHA-256 only (pyHanko's choice for the key).
"""

from __future__ import annotations

import hashlib

from asn1crypto import cms  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from onewindow.crypto.keys import Algorithm
from onewindow.crypto.keys import Signer as KeySigner

# The longest DER ECDSA P-256 signature: pyHanko reserves room for it in a dry run.
_DRY_RUN_SIGNATURE = bytes(72)


class SealPdfSigner(Signer):
    """Signs CMS signed attributes with the seal's ECDSA key; ``signed`` lists each document digest (hex)."""

    def __init__(self, *, key: KeySigner, certificate_der: bytes, root_der: bytes) -> None:
        if key.algorithm != Algorithm.ECDSA_P256_SHA256:
            message = f"a PDF seal signs with ECDSA P-256, not {key.algorithm}"
            raise ValueError(message)
        certificate = asn1_x509.Certificate.load(certificate_der)
        root = asn1_x509.Certificate.load(root_der)
        super().__init__(
            signing_cert=certificate,
            cert_registry=SimpleCertificateStore.from_certs([certificate, root]),  # type: ignore[no-untyped-call]
            embed_roots=True,
        )
        self._key = key
        self.signed: list[str] = []

    def __repr__(self) -> str:
        return f"<SealPdfSigner {self.signing_cert.subject.human_friendly if self.signing_cert else ''}>"

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:
            return _DRY_RUN_SIGNATURE
        if digest_algorithm.lower() != "sha256":
            message = f"the seal's ECDSA P-256 key signs with SHA-256, not {digest_algorithm}"
            raise ValueError(message)
        signature = self._key.sign(data)
        self.signed.append(_document_digest(data))
        return signature


def _document_digest(signed_attributes: bytes) -> str:
    """The messageDigest attribute (the signed document's digest) of DER signed attributes, hex; the SHA-256
    of the attributes themselves when there is none."""
    try:
        for attribute in cms.CMSAttributes.load(signed_attributes):
            if attribute["type"].native == "message_digest":
                return bytes(attribute["values"][0].native).hex()
    except ValueError:
        pass
    return hashlib.sha256(signed_attributes).hexdigest()
