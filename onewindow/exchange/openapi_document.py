"""A service's OpenAPI document (docs/exchange.md "Discovery"): the rules a document must meet before
``service_openapi_set`` stores it, its digest for the audit trail, and the minimal document discovery serves
for a service without one.

A document is accepted when it is a JSON object of at most 256 KB (UTF-8), ``openapi`` is "3.0.x" or "3.1.x",
it has ``info.title`` and ``info.version`` (strings, the title not empty) and ``paths`` (an object), and every
``$ref`` points inside the document (``#/...``): discovery is public, so a document must not make its readers
fetch anything from elsewhere. Every refusal is a ``RuleViolation`` on the field ``document`` with a Chinese
and an English message (a JSON syntax error says where: line and column).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from onewindow.core.errors import RuleViolation
from onewindow.exchange import protocol

MAX_BYTES = 256 * 1024
MAX_DEPTH = 64
FIELD = "document"
_VERSION = re.compile(r"3\.[01]\.\d+")


def _refused(code: str, message_zh: str, message_en: str) -> RuleViolation:
    return RuleViolation(code, message_zh, message_en, field=FIELD)


def _too_large() -> RuleViolation:
    return _refused(
        "openapi_too_large",
        f"OpenAPI 文档不能超过 {MAX_BYTES // 1024} KB。",
        f"The OpenAPI document must be at most {MAX_BYTES // 1024} KB.",
    )


class _NotJsonError(ValueError):
    """NaN, Infinity or -Infinity: Python's reader takes them, JSON does not."""


def _no_constants(name: str) -> Any:
    raise _NotJsonError(name)


def _parse(text: str) -> Any:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise _too_large()
    if not text.strip():
        raise _refused("openapi_required", "请填写 OpenAPI 文档。", "Enter the OpenAPI document.")
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        raise _refused(
            "openapi_invalid_json",
            f"第 {error.lineno} 行第 {error.colno} 列：JSON 格式错误（{error.msg}）。",
            f"Line {error.lineno} column {error.colno}: invalid JSON ({error.msg}).",
        ) from None
    except _NotJsonError as error:
        raise _refused(
            "openapi_invalid_json",
            f"JSON 格式错误：不允许 {error}。",
            f"Invalid JSON: {error} is not allowed.",
        ) from None
    except ValueError:  # e.g. an integer of thousands of digits
        raise _refused(
            "openapi_invalid_json",
            "JSON 格式错误：数字超出范围。",
            "Invalid JSON: a number is out of range.",
        ) from None
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> RuleViolation:
    return _refused(
        "openapi_too_deep",
        f"OpenAPI 文档嵌套不能超过 {MAX_DEPTH} 层。",
        f"The OpenAPI document may be nested at most {MAX_DEPTH} levels deep.",
    )


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """The document as stored and digested: compact UTF-8 JSON with sorted keys (key order is not kept by
    PostgreSQL's jsonb, so the digest does not depend on it)."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def document_sha256(document: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of ``canonical_bytes``: what the audit record keeps instead of the document."""
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def _storable(text: str) -> bool:
    """No NUL character and no lone surrogate: PostgreSQL's jsonb and UTF-8 take neither."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _walk(document: Any) -> tuple[list[str], int, bool]:
    """``$ref`` values that do not point inside the document, the nesting depth, and whether every string
    and number can be stored (iterative: a document nested deeper than the interpreter's stack is refused,
    not a crash)."""
    external: list[str] = []
    depth = 0
    storable = True
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, level = stack.pop()
        depth = max(depth, level)
        if depth > MAX_DEPTH:
            break
        if isinstance(node, dict):
            for key, value in node.items():
                storable = storable and isinstance(key, str) and _storable(key)
                # A "$ref" whose value is an object is a property named "$ref" (in ``properties``), not a
                # reference.
                if key == "$ref" and isinstance(value, str) and not value.startswith("#/"):
                    external.append(value)
                stack.append((value, level + 1))
        elif isinstance(node, list):
            stack.extend((item, level + 1) for item in node)
        elif isinstance(node, str):
            storable = storable and _storable(node)
        elif isinstance(node, float):  # 1e400 reads as infinity, which JSON cannot hold
            storable = storable and math.isfinite(node)
    return external, depth, storable


def openapi_document_check(document: str | Any) -> dict[str, Any]:
    """The OpenAPI document in ``document`` (the JSON text, or the already parsed value) if it meets the rules
    above; else a ``RuleViolation`` on the field ``document``."""
    value = _parse(document) if isinstance(document, str) else document
    if not isinstance(value, dict):
        raise _refused(
            "openapi_not_object",
            "OpenAPI 文档须为 JSON 对象（以 { 开头）。",
            "The OpenAPI document must be a JSON object (starting with {).",
        )
    external, depth, storable = _walk(value)
    if depth > MAX_DEPTH:
        raise _too_deep()
    if not storable:
        raise _refused(
            "openapi_invalid_json",
            "JSON 格式错误：文档含有 NUL 字符（\\u0000）、不成对的代理字符或超出范围的数字。",
            "Invalid JSON: the document holds a NUL character (\\u0000), a lone surrogate or a number out of "
            "range.",
        )
    if len(canonical_bytes(value)) > MAX_BYTES:
        raise _too_large()
    version = value.get("openapi")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise _refused(
            "openapi_version_unsupported",
            '“openapi” 须为 3.0.x 或 3.1.x 版本号（如 "3.1.0"）。',
            '"openapi" must be a 3.0.x or 3.1.x version (such as "3.1.0").',
        )
    info = value.get("info")
    title = info.get("title") if isinstance(info, dict) else None
    info_version = info.get("version") if isinstance(info, dict) else None
    if not isinstance(title, str) or not title.strip():
        raise _refused(
            "openapi_title_missing",
            "OpenAPI 文档须有 info.title（服务名称）。",
            "The OpenAPI document needs info.title (the service's name).",
        )
    if not isinstance(info_version, str) or not info_version.strip():
        raise _refused(
            "openapi_version_missing",
            "OpenAPI 文档须有 info.version（文档版本，字符串）。",
            "The OpenAPI document needs info.version (the document's version, a string).",
        )
    if not isinstance(value.get("paths"), dict):
        raise _refused(
            "openapi_paths_missing",
            "OpenAPI 文档须有 paths（对象）。",
            "The OpenAPI document needs paths (an object).",
        )
    if external:
        shown = external[0][:100]
        raise _refused(
            "openapi_external_ref",
            f"$ref 只能指向文档内部（#/…），不能指向 {shown}。",
            f"A $ref may only point inside the document (#/…), not to {shown}.",
        )
    return value


def openapi_text(document: Mapping[str, Any]) -> str:
    """The document as the page's textarea shows it: indented, Chinese kept as it is."""
    return json.dumps(document, ensure_ascii=False, indent=2)


def openapi_generated(*, name: str, name_en: str, service_path: str) -> dict[str, Any]:
    """The minimal document discovery serves for a service without one of its own (every built-in service)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": name, "version": "1"},
        "paths": {
            f"{protocol.PATH_PREFIX}{service_path}": {
                "post": {
                    "summary": name_en or name,
                    "description": "Signed exchange call (docs/exchange.md). Body: {query, items?}.",
                    "responses": {"200": {"description": "Signed answer with the granted data items."}},
                }
            }
        },
    }
