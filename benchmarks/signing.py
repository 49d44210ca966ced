"""Signing throughput: the national algorithms next to the international ones, in the same run.

Sections (all run unless ``--section`` picks some):

* ``crypto``: SM2 signatures and verifications per second on one core (``onewindow.crypto``, gmalglib
  underneath), with Ed25519 and ECDSA P-256 for comparison; SM3 and SM4-GCM throughput in MB/s (10^6
  bytes/s) next to ``cryptography``'s SHA-256 and AES-128-GCM. The process is pinned to one CPU for this
  section (``--cpu``), so the figures are single-core. ``--candidates`` also measures the other SM2
  packages if installed (gmssl-fast, and the pure-Python gmalg used by the tests) for docs/crypto.md.

* ``licences``: signed PDF e-licences per second end to end, as ``licence_record`` issues them minus the
  database rows (RFC 8785 JSON signed with SM2, the PDF rendered by WeasyPrint and signed PAdES B-B by
  pyHanko): per core (CPU time), the render and PDF-signing costs apart, and the machine's throughput with
  one process per CPU by the wall clock (the aim is >= 20/s). Django is set up for template rendering only
  (no database; a throwaway var directory).

More sections are added to ``SECTIONS`` at the bottom: each is a function ``run(options) -> dict`` of
figures plus a ``report(figures)`` that prints them; the figures of every section that ran go into the
summary.

Rates are the best of several timed rounds (the least disturbed by other processes on a shared machine).
The last line printed is one JSON object with the headline figures; the aims are SM2 >= 3,000 signs/s and
>= 20 signed PDF licences/s.

    python benchmarks/signing.py --quick                 # under a minute
    python benchmarks/signing.py                         # longer rounds, best of 3
    python benchmarks/signing.py --section crypto --candidates
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SM2_SIGNS_AIM = 3000
MESSAGE_SIZE = 1024  # an e-licence's canonical JSON is about this size
BULK_SIZE = 1 << 20  # 1 MiB buffers for the hash and cipher throughput


@dataclass(frozen=True)
class Options:
    quick: bool
    cpu: int | None
    candidates: bool

    @property
    def seconds(self) -> float:
        """How long one timed round runs."""
        return 0.4 if self.quick else 1.5

    @property
    def rounds(self) -> int:
        return 1 if self.quick else 3


@dataclass(frozen=True)
class Rate:
    """Operations per second of this thread's CPU time and of wall-clock time (best round of each)."""

    per_cpu_s: float
    per_wall_s: float


SHARES: list[float] = []  # wall / CPU rate of every measurement: how much of its core the process got


def rate(operation: Callable[[], object], options: Options, *, batch: int = 20) -> Rate:
    """Time ``operation`` in ``options.rounds`` rounds of about ``options.seconds`` of CPU time each.

    On a machine shared with other work the pinned CPU is not ours alone and wall-clock rates measure the
    contention; operations per second of the thread's own CPU time (``time.thread_time``) are what one free
    core would do, so those are the headline figures. Both are kept.
    """
    operation()  # warm up (lazy set-up, caches)
    best_cpu = best_wall = 0.0
    for _ in range(options.rounds):
        count = 0
        wall_started, cpu_started = time.perf_counter(), time.thread_time()
        while True:
            for _ in range(batch):
                operation()
            count += batch
            cpu = time.thread_time() - cpu_started
            wall = time.perf_counter() - wall_started
            if cpu >= options.seconds or wall >= 4 * options.seconds:
                break
        best_cpu = max(best_cpu, count / cpu)
        best_wall = max(best_wall, count / wall)
    SHARES.append(min(1.0, best_wall / best_cpu))
    return Rate(best_cpu, best_wall)


def megabytes_per_second(operation: Callable[[], object], options: Options) -> float:
    return rate(operation, options, batch=1).per_cpu_s * BULK_SIZE / 1e6


# --- Section: crypto ---------------------------------------------------------------------------------------


def _pin(cpu: int | None) -> tuple[set[int] | None, int | None]:
    """Pin this process to one CPU; returns the previous affinity (to restore) and the CPU used."""
    if not hasattr(os, "sched_setaffinity"):
        return None, None
    previous = os.sched_getaffinity(0)
    chosen = cpu if cpu is not None else min(previous)
    os.sched_setaffinity(0, {chosen})
    return previous, chosen


def _sm2_candidates(options: Options, message: bytes) -> dict[str, Any]:
    """The other SM2 packages, measured the same way, when installed (not project dependencies)."""
    figures: dict[str, Any] = {}
    try:
        import gmssl_fast  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        figures["gmssl_fast"] = None
    else:
        signer = gmssl_fast.SM2.generate()
        verifier = gmssl_fast.SM2(public_key=signer.public_key_hex)
        signature = signer.sign(message)
        figures["gmssl_fast"] = {
            "signs_per_s": round(rate(lambda: signer.sign(message), options).per_cpu_s),
            "verifies_per_s": round(rate(lambda: verifier.verify(message, signature), options).per_cpu_s),
        }
    try:
        import gmalg
    except ImportError:
        figures["gmalg"] = None
    else:
        from onewindow.crypto.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey

        key = SM2PrivateKey.generate()
        pure = gmalg.SM2(key.to_bytes(), DEFAULT_SIGNER_ID, key.public_key().to_bytes())
        r, s = pure.sign(message)
        figures["gmalg"] = {
            "signs_per_s": round(rate(lambda: pure.sign(message), options, batch=1).per_cpu_s, 1),
            "verifies_per_s": round(rate(lambda: pure.verify(message, r, s), options, batch=1).per_cpu_s, 1),
        }
    return figures


def crypto_run(options: Options) -> dict[str, Any]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from gmalglib import sm2 as gmalglib_sm2

    from onewindow.crypto.keys import Algorithm, Signer, generate_signer
    from onewindow.crypto.mac import hmac_sm3
    from onewindow.crypto.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey
    from onewindow.crypto.sm4 import SM4GCM

    previous_affinity, cpu = _pin(options.cpu)
    try:
        message = os.urandom(MESSAGE_SIZE)
        bulk = os.urandom(BULK_SIZE)
        figures: dict[str, Any] = {"cpu": cpu, "message_bytes": MESSAGE_SIZE, "bulk_bytes": BULK_SIZE}

        # SM2 through the platform's API (DER signatures, signer ID, range checks) and straight through the
        # C engine, so the wrapper's own cost shows.
        key = SM2PrivateKey.generate()
        public_key = key.public_key()
        signature = key.sign(message)
        signs = rate(lambda: key.sign(message), options)
        verifies = rate(lambda: public_key.verify(signature, message), options)
        figures["sm2_signs_per_s"] = round(signs.per_cpu_s)
        figures["sm2_verifies_per_s"] = round(verifies.per_cpu_s)
        figures["sm2_signs_per_wall_s"] = round(signs.per_wall_s)
        figures["sm2_verifies_per_wall_s"] = round(verifies.per_wall_s)
        engine = gmalglib_sm2.SM2(sk=key.to_bytes(), uid=DEFAULT_SIGNER_ID)
        raw = engine.sign(message)
        figures["sm2_engine_signs_per_s"] = round(rate(lambda: engine.sign(message), options).per_cpu_s)
        figures["sm2_engine_verifies_per_s"] = round(
            rate(lambda: engine.verify(message, raw), options).per_cpu_s
        )

        for algorithm, prefix in (
            (Algorithm.ECDSA_P256_SHA256, "ecdsa_p256"),
            (Algorithm.ED25519, "ed25519"),
        ):
            signer: Signer = generate_signer(algorithm)
            made = signer.sign(message)
            figures[f"{prefix}_signs_per_s"] = round(rate(partial(signer.sign, message), options).per_cpu_s)
            figures[f"{prefix}_verifies_per_s"] = round(
                rate(partial(signer.verifier().verify, made, message), options).per_cpu_s
            )

        def digest(algorithm: hashes.HashAlgorithm) -> Callable[[], bytes]:
            def run() -> bytes:
                hasher = hashes.Hash(algorithm)
                hasher.update(bulk)
                return hasher.finalize()

            return run

        figures["sm3_mb_per_s"] = round(megabytes_per_second(digest(hashes.SM3()), options), 1)
        figures["sha256_mb_per_s"] = round(megabytes_per_second(digest(hashes.SHA256()), options), 1)
        mac_key = os.urandom(32)
        figures["hmac_sm3_mb_per_s"] = round(
            megabytes_per_second(lambda: hmac_sm3(mac_key, bulk), options), 1
        )

        # A counter nonce: the random nonce of sm4_gcm_seal costs the same for both ciphers and is left out.
        counter = iter(range(1 << 62))
        sm4 = SM4GCM(SM4GCM.generate_key())
        aes = AESGCM(AESGCM.generate_key(bit_length=128))
        figures["sm4_gcm_mb_per_s"] = round(
            megabytes_per_second(lambda: sm4.encrypt(next(counter).to_bytes(12, "big"), bulk, b""), options),
            1,
        )
        figures["aes128_gcm_mb_per_s"] = round(
            megabytes_per_second(lambda: aes.encrypt(next(counter).to_bytes(12, "big"), bulk, b""), options),
            1,
        )
        if options.candidates:
            figures["candidates"] = _sm2_candidates(options, message)
    finally:
        if previous_affinity is not None:
            os.sched_setaffinity(0, previous_affinity)
    figures["sm2_meets_aim"] = figures["sm2_signs_per_s"] >= SM2_SIGNS_AIM
    figures["core_share"] = round(sorted(SHARES)[len(SHARES) // 2], 2)
    return figures


def crypto_report(figures: dict[str, Any]) -> None:
    print(f"\ncrypto: one core (CPU {figures['cpu']}), {figures['message_bytes']}-byte messages")
    print(
        f"  rates per second of CPU time; the process got {figures['core_share']:.0%} of its core "
        f"(SM2 by the wall clock: {figures['sm2_signs_per_wall_s']:,} signs/s, "
        f"{figures['sm2_verifies_per_wall_s']:,} verifies/s)"
    )
    print(f"  {'signature':<22}{'signs/s':>10}{'verifies/s':>12}")
    rows = [
        ("SM2 (onewindow.crypto)", "sm2_signs_per_s", "sm2_verifies_per_s"),
        ("SM2 (gmalglib direct)", "sm2_engine_signs_per_s", "sm2_engine_verifies_per_s"),
        ("ECDSA P-256", "ecdsa_p256_signs_per_s", "ecdsa_p256_verifies_per_s"),
        ("Ed25519", "ed25519_signs_per_s", "ed25519_verifies_per_s"),
    ]
    for label, signs, verifies in rows:
        print(f"  {label:<22}{figures[signs]:>10,}{figures[verifies]:>12,}")
    for name, result in (figures.get("candidates") or {}).items():
        if result is None:
            print(f"  {name + ' (not installed)':<22}")
        else:
            print(f"  {name:<22}{result['signs_per_s']:>10,}{result['verifies_per_s']:>12,}")
    print(f"  {'throughput, 1 MiB':<22}{'MB/s':>10}   {'compare':<12}{'MB/s':>8}")
    print(
        f"  {'SM3':<22}{figures['sm3_mb_per_s']:>10,.1f}   {'SHA-256':<12}{figures['sha256_mb_per_s']:>8,.1f}"
    )
    print(
        f"  {'SM4-GCM (encrypt)':<22}{figures['sm4_gcm_mb_per_s']:>10,.1f}   "
        f"{'AES-128-GCM':<12}{figures['aes128_gcm_mb_per_s']:>8,.1f}"
    )
    print(f"  {'HMAC-SM3':<22}{figures['hmac_sm3_mb_per_s']:>10,.1f}")
    verdict = "meets" if figures["sm2_meets_aim"] else "BELOW"
    print(f"  SM2 {verdict} the aim of {SM2_SIGNS_AIM:,} signs/s on one core")


def crypto_summary(figures: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "sm2_signs_per_s",
        "sm2_verifies_per_s",
        "sm2_meets_aim",
        "sm2_signs_per_wall_s",
        "core_share",
        "ecdsa_p256_signs_per_s",
        "ed25519_signs_per_s",
        "sm3_mb_per_s",
        "sha256_mb_per_s",
        "sm4_gcm_mb_per_s",
        "aes128_gcm_mb_per_s",
    )
    return {key: figures[key] for key in keys}


# --- Section: licences -------------------------------------------------------------------------------------

LICENCE_PDF_AIM = 20  # signed PDF licences per second, end to end (issue #6)


def _django_ready() -> None:
    """Settings and apps for template rendering only: no database is opened (a throwaway var directory)."""
    import tempfile

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ONEWINDOW_VAR_DIR", tempfile.mkdtemp(prefix="ow-bench-signing-"))
    django.setup()


def _throwaway_seal() -> tuple[Any, bytes, bytes]:
    """An ECDSA P-256 seal key with a certificate from a throwaway root, as the seals app issues them."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from onewindow.crypto.keys import ECDSAP256Signer

    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Benchmark Root")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "基准测试部门")]))
        .issuer_name(root_name)
        .public_key(seal_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    der = serialization.Encoding.DER
    return ECDSAP256Signer(seal_key), seal.public_bytes(der), root.public_bytes(der)


class _LicenceFactory:
    """Issues signed licences the way ``licence_record`` does, minus the database rows and audit records:
    the RFC 8785 bytes signed with SM2, the PDF rendered (WeasyPrint) and signed PAdES B-B (pyHanko)."""

    def __init__(self) -> None:
        import datetime as dt

        from onewindow.crypto.sm2 import SM2PrivateKey
        from onewindow.licences.models import HolderKind, Licence
        from onewindow.seals.image import seal_image_render

        self.sm2 = SM2PrivateKey.generate()
        self.ecdsa, self.certificate_der, self.root_der = _throwaway_seal()
        self.image = seal_image_render("基准测试部门")
        self.count = 0
        self.template = Licence(
            name="营业执照",
            name_en="Business licence",
            type_code="OWL0001",
            issuer_department_code="AMR",
            issuer_name="福州市市场监督管理局",
            issuer_code="11350100MB0000000Y",
            holder_kind=HolderKind.ENTERPRISE,
            holder_code="91350100M000100Y43",
            issued_on=dt.date(2026, 12, 3),
            data={
                "company_type": "llc",
                "registered_capital": 100,
                "address": "福州市鼓楼区东街 1 号",
                "business_scope": "软件开发；信息技术咨询服务；数据处理和存储支持服务",
                "legal_rep_name": "张三",
            },
        )

    def render(self) -> bytes:
        from onewindow.crypto.sm3 import sm3_hex
        from onewindow.licences.pdf import LicencePdfContent, PdfField, licence_pdf_render
        from onewindow.licences.selectors import licence_verification_url
        from onewindow.licences.signed import licence_canonical

        self.count += 1
        licence = self.template
        licence.number = f"AMR-2026-{self.count:06d}"
        licence.holder_name = f"福州基准测试第{self.count}有限公司"
        canonical = licence_canonical(licence)
        self.sm2.sign(canonical)
        return licence_pdf_render(
            LicencePdfContent(
                number=licence.number,
                name=licence.name,
                name_en=licence.name_en,
                type_code=licence.type_code,
                holder_name=licence.holder_name,
                holder_code=licence.holder_code,
                holder_code_label="统一社会信用代码",
                holder_code_label_en="Unified social credit code",
                issuer_name=licence.issuer_name,
                issuer_code=licence.issuer_code,
                issued_on=licence.issued_on,
                valid_until=None,
                fields=[PdfField(key, key, str(value)) for key, value in licence.data.items()],
                digest=sm3_hex(canonical),
                verification_url=licence_verification_url(licence.number),
                seal_image_png=self.image,
            )
        )

    def sign(self, pdf: bytes) -> bytes:
        from onewindow.licences.pdf import licence_pdf_sign
        from onewindow.seals.pdf import SealPdfSigner

        signer = SealPdfSigner(key=self.ecdsa, certificate_der=self.certificate_der, root_der=self.root_der)
        return licence_pdf_sign(pdf, signer=signer, number=f"AMR-2026-{self.count:06d}", signer_name="基准")[
            0
        ]

    def issue(self) -> bytes:
        return self.sign(self.render())


def _licences_worker(seconds: float, results: Any) -> None:
    factory = _LicenceFactory()
    factory.issue()  # warm up: fonts, templates
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        factory.issue()
        count += 1
    results.put(count)


def licences_run(options: Options) -> dict[str, Any]:
    import multiprocessing

    _django_ready()
    factory = _LicenceFactory()
    pdf = factory.render()
    figures: dict[str, Any] = {"pdf_bytes": len(factory.sign(pdf))}
    one_core = rate(factory.issue, options, batch=1)
    figures["licence_pdfs_per_s_one_core"] = round(one_core.per_cpu_s, 1)
    figures["licence_pdfs_per_wall_s_one_process"] = round(one_core.per_wall_s, 1)
    figures["licence_render_ms"] = round(1000 / rate(factory.render, options, batch=1).per_cpu_s, 1)
    figures["licence_pdf_sign_ms"] = round(
        1000 / rate(lambda: factory.sign(pdf), options, batch=1).per_cpu_s, 1
    )
    # Machine throughput: one process per CPU, each issuing as fast as it can, by the wall clock.
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    seconds = 3.0 if options.quick else 10.0
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=_licences_worker, args=(seconds, results)) for _ in range(workers)]
    for process in processes:
        process.start()
    total = sum(results.get(timeout=seconds * 10 + 120) for _ in processes)
    for process in processes:
        process.join()
    figures["licence_workers"] = workers
    figures["licence_pdfs_per_s"] = round(total / seconds, 1)
    figures["licence_pdfs_meet_aim"] = figures["licence_pdfs_per_s"] >= LICENCE_PDF_AIM
    return figures


def licences_report(figures: dict[str, Any]) -> None:
    print(f"\nlicences: signed PDF e-licences end to end ({figures['pdf_bytes']:,}-byte PDFs)")
    print("  each: RFC 8785 JSON + SM2 signature, WeasyPrint render (A4, Noto CJK), PAdES B-B (pyHanko)")
    print(
        f"  one core: {figures['licence_pdfs_per_s_one_core']:,} licences/s of CPU time "
        f"({figures['licence_pdfs_per_wall_s_one_process']:,}/s by the wall clock); "
        f"render {figures['licence_render_ms']} ms, PDF signature {figures['licence_pdf_sign_ms']} ms"
    )
    verdict = "meets" if figures["licence_pdfs_meet_aim"] else "BELOW"
    print(
        f"  {figures['licence_workers']} processes: {figures['licence_pdfs_per_s']:,} licences/s by the wall "
        f"clock; {verdict} the aim of {LICENCE_PDF_AIM}/s"
    )


def licences_summary(figures: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "licence_pdfs_per_s",
        "licence_pdfs_meet_aim",
        "licence_workers",
        "licence_pdfs_per_s_one_core",
        "licence_render_ms",
        "licence_pdf_sign_ms",
    )
    return {key: figures[key] for key in keys}


# --- Sections ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    name: str
    run: Callable[[Options], dict[str, Any]]
    report: Callable[[dict[str, Any]], None]
    summary: Callable[[dict[str, Any]], dict[str, Any]]


SECTIONS: list[Section] = [
    Section("crypto", crypto_run, crypto_report, crypto_summary),
    Section("licences", licences_run, licences_report, licences_summary),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short rounds: finishes in under a minute")
    parser.add_argument(
        "--section",
        action="append",
        choices=[section.name for section in SECTIONS],
        help="run only this section (repeatable; default: all)",
    )
    parser.add_argument("--cpu", type=int, default=None, help="the CPU to pin the crypto section to")
    parser.add_argument(
        "--candidates", action="store_true", help="also measure other SM2 packages if installed"
    )
    arguments = parser.parse_args()
    options = Options(quick=arguments.quick, cpu=arguments.cpu, candidates=arguments.candidates)
    chosen = [section for section in SECTIONS if not arguments.section or section.name in arguments.section]

    started = time.perf_counter()
    summary: dict[str, Any] = {}
    for section in chosen:
        figures = section.run(options)
        section.report(figures)
        summary |= section.summary(figures)
    summary["quick"] = options.quick
    summary["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
