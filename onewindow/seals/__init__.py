"""Electronic seals (电子印章): the platform CA, each department's signing keys and seal image, seal holders.

See docs/signatures.md. Other apps sign through :mod:`onewindow.seals.actions` (``seal_sign``,
``seal_sign_for_decision``, ``seal_pdf_signer``) and verify through :mod:`onewindow.seals.selectors`.
"""
