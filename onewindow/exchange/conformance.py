"""The exchange conformance check of an external system's endpoint (issue #8 item 6; docs/exchange.md,
"Conformance check"): ``onewindow exchange conformance URL [--system CODE] [--record] [--json]``.

It calls the endpoint the way the exchange does, and the ways an attacker might, and checks each answer:

* ``openapi`` — ``GET {base}/meta/openapi`` is an OpenAPI 3 document that names the service(s) at
  ``/services/{code}``; ``health`` — ``GET {base}/meta/health`` answers ``{"status": "ok"}``;
* ``signed_request`` — a request signed by the gateway's key is answered 200 ``{"data": {...}}`` or 404
  ``record_not_found``, signed by a key of the system (``--system``; else of any subsystem) whose
  certificate chains to the platform root, with the right digest and bound to the request's nonce and
  exchange id;
* refusals, each in the exchange's error format ``{code, message, message_zh, message_en}`` and signed:
  ``unsigned`` (401 ``unsigned``), ``wrong_key`` (signed by another key under the gateway's key id: 401
  ``bad_signature``), ``altered_body`` (400 ``digest_mismatch``), ``replayed_nonce`` (the valid request sent
  again: 409 ``replayed_nonce``), ``stale_timestamp`` (ten minutes old: 401 ``stale_timestamp``) and
  ``malformed_body`` (400 ``bad_request``).

The report has one line per check with the reason in Chinese and English; it passed only if every check
did. :func:`system_conformance_run` runs it on a system's registered endpoint and records the result on the
catalog's register (``catalog.systems.system_conformance_record``), which a planned system's approval needs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.catalog.models import InformationSystem
from onewindow.core.errors import RuleViolation
from onewindow.crypto.keys import Algorithm, Signer, Verifier, generate_signer
from onewindow.exchange import adapter, protocol
from onewindow.exchange.models import KeyStatus, ServiceKind, SubsystemKey

PURPOSE = "符合性检测 conformance check"
DEFAULT_TIMEOUT = 10.0
MAX_ANSWER_BYTES = 4 * 1024 * 1024
_CJK = re.compile(r"[\u4e00-\u9fff]")

# (method, url, headers, body, timeout) -> (status, headers, body); urllib by default.
Transport = Callable[[str, str, dict[str, str], bytes | None, float], tuple[int, dict[str, str], bytes]]


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    reason_zh: str
    reason_en: str

    def line(self) -> str:
        mark = "通过 PASS" if self.passed else "失败 FAIL"
        return f"[{mark}] {self.name}: {self.reason_zh} / {self.reason_en}"


@dataclass
class ConformanceReport:
    url: str
    system: str
    service: str
    checked_at: dt.datetime
    checks: list[CheckResult] = field(default_factory=list)
    # False when no request got an HTTP answer at all (nothing listening, an unknown host, a bad URL).
    reached: bool = False

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    def failed(self) -> list[str]:
        return [check.name for check in self.checks if not check.passed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "system": self.system,
            "service": self.service,
            "checked_at": self.checked_at.isoformat(),
            "passed": self.passed,
            "reached": self.reached,
            "checks": [dataclasses.asdict(check) for check in self.checks],
        }

    def lines(self) -> list[str]:
        if self.passed:
            verdict = "符合性检测通过 / Conformance check passed"
        elif not self.reached:
            verdict = "符合性检测未通过：接口无法连接 / Conformance check failed: endpoint unreachable"
        else:
            verdict = f"符合性检测未通过 / Conformance check failed: {', '.join(self.failed())}"
        return [
            f"{self.url} ({self.system or '-'}, service {self.service or '-'})",
            *(check.line() for check in self.checks),
            verdict,
        ]


def _urllib(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> tuple[int, dict[str, str], bytes]:
    if not url.startswith(("http://", "https://")):
        message = "the endpoint must be an http(s) URL"
        raise ValueError(message)
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 - checked
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), dict(response.headers.items()), response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as error:
        return int(error.code), dict(error.headers.items()), error.read(MAX_ANSWER_BYTES)


@dataclass
class _Sent:
    """One request as sent and what came back."""

    path: str
    headers: dict[str, str]
    body: bytes
    exchange_id: str
    status: int = 0
    answer_headers: dict[str, str] = field(default_factory=dict)
    answer: bytes = b""
    failure: str = ""

    @property
    def nonce(self) -> str:
        return self.headers.get(protocol.NONCE, "")

    def json(self) -> Any:
        try:
            return json.loads(self.answer)
        except ValueError:
            return None


class _Checker:
    def __init__(
        self,
        url: str,
        *,
        system: InformationSystem | None,
        service_code: str,
        query: Mapping[str, Any] | None,
        timeout: float,
        transport: Transport,
    ) -> None:
        from onewindow.exchange.http_provider import gateway_signer
        from onewindow.seals.actions import authority_certificate, authority_current

        self.base = url.rstrip("/")
        self.system = system
        self.service_code = service_code
        self.query: dict[str, Any] | None = dict(query) if query is not None else None
        self.timeout = timeout
        self.transport = transport
        self.signer: Signer = gateway_signer()
        self.root: x509.Certificate = authority_certificate(authority_current())
        self.report = ConformanceReport(
            url=url,
            system=system.code if system else "",
            service="",
            checked_at=timezone.now(),
        )

    # Helpers
    def add(self, name: str, passed: bool, zh: str, en: str) -> bool:
        self.report.checks.append(CheckResult(name, passed, zh, en))
        return passed

    def get(self, path: str) -> tuple[int, Any, str]:
        try:
            status, _headers, body = self.transport(
                "GET", self.base + path, {"Accept": "application/json"}, None, self.timeout
            )
        except (OSError, ValueError) as error:
            return 0, None, f"{type(error).__name__}: {error}"
        self.report.reached = True
        try:
            return status, json.loads(body), ""
        except ValueError:
            return status, None, "not JSON"

    def service_url(self) -> str:
        return f"{self.base}{adapter.SERVICES_PATH}{self.service_code}"

    def prepared(
        self,
        body: bytes,
        *,
        signer: Signer | None = None,
        key_id: str | None = None,
        signed_body: bytes | None = None,
        now: dt.datetime | None = None,
        signed: bool = True,
    ) -> _Sent:
        """A request to the service: signed by ``signer`` (the gateway's key) over ``signed_body`` (the body
        itself), claiming ``key_id``; or unsigned."""
        path = urllib.parse.urlsplit(self.service_url()).path
        exchange_id = uuid.uuid4().hex
        headers = {"Content-Type": "application/json", protocol.EXCHANGE_ID: exchange_id}
        if signed:
            signing = signer or self.signer
            headers_signed = protocol.SignedHeaders(
                client=adapter.GATEWAY_IDENTITY,
                timestamp=protocol.format_timestamp(now or timezone.now()),
                nonce=protocol.new_nonce(),
                digest=protocol.body_digest(body if signed_body is None else signed_body),
                purpose=protocol.encode_purpose(PURPOSE),
                key_id=key_id or signing.key_id,
            )
            signature = signing.sign(protocol.request_canonical("POST", path, headers_signed))
            headers.update(headers_signed.as_headers(signature))
        return _Sent(path=path, headers=headers, body=body, exchange_id=exchange_id)

    def send(self, sent: _Sent) -> _Sent:
        try:
            sent.status, sent.answer_headers, sent.answer = self.transport(
                "POST", self.service_url(), sent.headers, sent.body, self.timeout
            )
        except (OSError, ValueError) as error:
            sent.failure = f"{type(error).__name__}: {error}"
        else:
            self.report.reached = True
        return sent

    def response_keys(self, key_id: str) -> tuple[Verifier, str] | None:
        """A key of the system (or of any subsystem without ``--system``) that still verifies and whose
        certificate chains to the platform root and names its subsystem."""
        keys = SubsystemKey.objects.select_related("system__department").filter(
            key_id=key_id, status__in=[KeyStatus.ACTIVE, KeyStatus.RETIRED]
        )
        if self.system is not None:
            keys = keys.filter(system=self.system)
        key = keys.first()
        if key is None:
            return None
        identity = protocol.subsystem_path(key.system.department.credit_code, key.system.code)
        try:
            certificate = x509.load_der_x509_certificate(bytes(key.certificate_der))
            verifier, _named = adapter.certificate_verifier(
                certificate, self.root, identity=identity, now=timezone.now()
            )
        except (adapter.UntrustedCertificate, ValueError):
            return None
        if verifier.public_key_der() != bytes(key.public_key_der):
            return None
        return verifier, identity

    def signature_problem(self, sent: _Sent) -> str:
        check = adapter.response_check(
            status=sent.status,
            headers=sent.answer_headers,
            body=sent.answer,
            path=sent.path,
            request_nonce=sent.nonce,
            exchange_id=sent.exchange_id,
            verifier_for=self.response_keys,
            now=timezone.now(),
        )
        return check.problem

    @staticmethod
    def format_problem(answer: Any) -> str:
        if not isinstance(answer, dict):
            return "the body is not a JSON object"
        for name in ("code", "message", "message_zh", "message_en"):
            if not isinstance(answer.get(name), str) or not answer[name].strip():
                return f"no {name}"
        if not _CJK.search(answer["message_zh"]):
            return "message_zh is not Chinese"
        return ""

    # The checks
    def openapi(self) -> None:
        status, document, problem = self.get(adapter.OPENAPI_PATH)
        codes: list[str] = []
        if status == 200 and isinstance(document, dict):
            paths = document.get("paths")
            codes = sorted(
                path.removeprefix(adapter.SERVICES_PATH)
                for path in (paths if isinstance(paths, dict) else {})
                if isinstance(path, str) and path.startswith(adapter.SERVICES_PATH)
            )
        registered = self.registered_codes()
        if not self.service_code:
            preferred = [code for code in codes if code in registered]
            self.service_code = (preferred or codes or [""])[0]
        self.report.service = self.service_code
        if status != 200 or not isinstance(document, dict):
            self.add(
                "openapi",
                False,
                f"元服务 OpenAPI 文档不可用（HTTP {status}，{problem or '不是 JSON 对象'}）。",
                f"The OpenAPI metaservice failed (HTTP {status}, {problem or 'not a JSON object'}).",
            )
            return
        version = document.get("openapi")
        info = document.get("info")
        if not isinstance(version, str) or not version.startswith("3."):
            self.add("openapi", False, "不是 OpenAPI 3 文档。", "Not an OpenAPI 3 document.")
            return
        if not isinstance(info, dict) or not info.get("title"):
            self.add(
                "openapi", False, "OpenAPI 文档缺少 info.title。", "The OpenAPI document has no info.title."
            )
            return
        missing = sorted((registered | {self.service_code}) - set(codes) - {""})
        if not self.service_code or missing:
            self.add(
                "openapi",
                False,
                f"OpenAPI 文档未列出服务 {'、'.join(missing) or '（无）'}（/services/{{编码}}）。",
                f"The OpenAPI document does not name the service {', '.join(missing) or '(none)'} "
                "(/services/{code}).",
            )
            return
        if self.query is None:
            self.query = _example_query(document, self.service_code)
        self.add(
            "openapi",
            True,
            f"OpenAPI {version} 文档列出服务 {'、'.join(codes)}。",
            f"OpenAPI {version} document names the service(s) {', '.join(codes)}.",
        )

    def registered_codes(self) -> set[str]:
        """The system's HTTP services registered on this endpoint (the document must name them)."""
        if self.system is None:
            return set()
        return {
            service.code
            for service in self.system.exchange_services.filter(kind=ServiceKind.HTTP, is_active=True)
            if service.endpoint_url.startswith(self.base + "/")
        }

    def health(self) -> None:
        status, document, problem = self.get(adapter.HEALTH_PATH)
        healthy = status == 200 and isinstance(document, dict) and document.get("status") == "ok"
        self.add(
            "health",
            healthy,
            "健康检查元服务正常。" if healthy else f"健康检查元服务异常（HTTP {status} {problem}）。",
            "The health metaservice answers ok."
            if healthy
            else f"The health metaservice is not ok (HTTP {status} {problem}).",
        )

    def body(self) -> bytes:
        return adapter.json_bytes({"query": self.query or {}, "consumer": adapter.GATEWAY_IDENTITY})

    def signed_request(self) -> _Sent:
        sent = self.send(self.prepared(self.body()))
        answer = sent.json()
        name = "signed_request"
        if sent.failure:
            self.add(name, False, f"无法连接：{sent.failure}", f"Cannot connect: {sent.failure}")
            return sent
        if sent.status == 200:
            if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
                self.add(name, False, "200 应答缺少 data 对象。", 'The 200 answer has no "data" object.')
                return sent
        elif sent.status == 404:
            problem = self.format_problem(answer)
            if problem or answer.get("code") != "record_not_found":
                self.add(
                    name,
                    False,
                    f"404 应答不是交换错误格式的 record_not_found（{problem or answer.get('code')}）。",
                    f"The 404 answer is not record_not_found in the exchange's format "
                    f"({problem or answer.get('code')}).",
                )
                return sent
        else:
            code = answer.get("code", "") if isinstance(answer, dict) else ""
            self.add(
                name,
                False,
                f"签名请求应答 HTTP {sent.status} {code}，应为 200 或 404。",
                f"The signed request was answered HTTP {sent.status} {code}, not 200 or 404.",
            )
            return sent
        problem = self.signature_problem(sent)
        if problem:
            self.add(name, False, f"应答签名未通过验证：{problem}", f"The answer does not verify: {problem}")
            return sent
        self.add(
            name,
            True,
            f"签名请求应答 HTTP {sent.status}，应答由本系统经平台根证书认证的密钥签名并与请求绑定。",
            f"The signed request was answered HTTP {sent.status}, signed by a key of the system certified "
            "by the platform root, with the right digest and bound to the request.",
        )
        return sent

    def refusal(self, name: str, sent: _Sent, status: int, code: str) -> None:
        self.send(sent)
        if sent.failure:
            self.add(name, False, f"无法连接：{sent.failure}", f"Cannot connect: {sent.failure}")
            return
        answer = sent.json()
        got = answer.get("code", "") if isinstance(answer, dict) else ""
        if sent.status != status or got != code:
            self.add(
                name,
                False,
                f"应答 HTTP {sent.status} {got or '（无代码）'}，应为 {status} {code}。",
                f"Answered HTTP {sent.status} {got or '(no code)'}, expected {status} {code}.",
            )
            return
        problem = self.format_problem(answer)
        if problem:
            self.add(
                name,
                False,
                f"拒绝应答不符合交换错误格式：{problem}。",
                f"The refusal is not in the exchange's error format: {problem}.",
            )
            return
        problem = self.signature_problem(sent)
        if problem:
            self.add(
                name,
                False,
                f"拒绝应答签名未通过验证：{problem}",
                f"The refusal does not verify: {problem}",
            )
            return
        self.add(
            name,
            True,
            f"按要求拒绝：HTTP {status} {code}，错误格式正确，应答已签名。",
            f"Refused as required: HTTP {status} {code}, in the error format, signed.",
        )

    def run(self) -> ConformanceReport:
        self.openapi()
        self.health()
        if not self.service_code:
            for name in (
                "signed_request",
                "unsigned",
                "wrong_key",
                "altered_body",
                "replayed_nonce",
                "stale_timestamp",
                "malformed_body",
            ):
                if not self.report.reached:
                    self.add(
                        name,
                        False,
                        "未执行：接口地址无法连接。",
                        "Not run: the endpoint cannot be reached.",
                    )
                    continue
                self.add(
                    name,
                    False,
                    "没有可调用的服务（OpenAPI 文档未列出，也未用 --service 指定）。",
                    "No service to call (none in the OpenAPI document, none given with --service).",
                )
            return self.report
        body = self.body()
        valid = self.signed_request()
        self.refusal("unsigned", self.prepared(body, signed=False), 401, "unsigned")
        self.refusal(
            "wrong_key",
            self.prepared(body, signer=generate_signer(Algorithm.SM2_SM3), key_id=self.signer.key_id),
            401,
            "bad_signature",
        )
        altered = adapter.json_bytes({"query": {**(self.query or {}), "altered": True}})
        self.refusal("altered_body", self.prepared(altered, signed_body=body), 400, "digest_mismatch")
        replay = _Sent(
            path=valid.path, headers=dict(valid.headers), body=valid.body, exchange_id=valid.exchange_id
        )
        self.refusal("replayed_nonce", replay, 409, "replayed_nonce")
        stale = timezone.now() - 2 * protocol.TIMESTAMP_WINDOW
        self.refusal("stale_timestamp", self.prepared(body, now=stale), 401, "stale_timestamp")
        self.refusal("malformed_body", self.prepared(b"{not json"), 400, "bad_request")
        return self.report


def _example_query(document: Mapping[str, Any], code: str) -> dict[str, Any]:
    """The example query of a service's request body in the OpenAPI document, else an empty query."""
    try:
        media = document["paths"][f"{adapter.SERVICES_PATH}{code}"]["post"]["requestBody"]["content"]
        example = media["application/json"]["example"]["query"]
    except (KeyError, TypeError):
        return {}
    return dict(example) if isinstance(example, dict) else {}


def conformance_check(
    url: str,
    *,
    system: InformationSystem | None = None,
    service_code: str = "",
    query: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    transport: Transport | None = None,
) -> ConformanceReport:
    """Check the endpoint at ``url`` (its base URL) against the exchange's rules; writes nothing (but the
    gateway's first key, issued on first need)."""
    return _Checker(
        url,
        system=system,
        service_code=service_code,
        query=query,
        timeout=timeout,
        transport=transport or _urllib,
    ).run()


def system_conformance_run(
    *,
    acting_user: User | None,
    system: InformationSystem,
    url: str = "",
    service_code: str = "",
    query: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    transport: Transport | None = None,
) -> tuple[InformationSystem, ConformanceReport]:
    """Check ``system``'s endpoint (or ``url``) and record the result on the catalog's register (the audited
    ``system_conformance_record``): system administrators, or the exchange itself (``acting_user=None``: the
    CLI). Refused before any call for everyone else."""
    from onewindow.catalog.systems import system_conformance_record

    if acting_user is not None and not user_has_permission(acting_user, Permission.MANAGE_SYSTEM):
        raise permission_denied(
            acting_user, Permission.MANAGE_SYSTEM, object_type="information_system", object_id=system.code
        )
    endpoint = (url or system.endpoint or "").strip()
    if not endpoint:
        raise RuleViolation(
            "endpoint_required",
            "系统尚未登记共享交换接口地址。",
            "The system has no exchange endpoint registered.",
            field="endpoint",
        )
    report = conformance_check(
        endpoint,
        system=system,
        service_code=service_code,
        query=query,
        timeout=timeout,
        transport=transport,
    )
    recorded = system_conformance_record(
        acting_user=acting_user,
        system=system,
        passed=report.passed,
        endpoint=endpoint,
        report=report.as_dict(),
    )
    return recorded, report
