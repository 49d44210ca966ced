"""API errors: every refusal is ``{code, message, message_en}`` (message in the request's language)."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import NinjaAPI


class ApiError(Exception):
    """Raise from an endpoint to answer ``status`` with a bilingual ``{code, message, message_en}`` body."""

    def __init__(self, status: int, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.status = status
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en

    def body(self) -> dict[str, str]:
        language = get_language() or "zh-hans"
        message = self.message_en if language.startswith("en") else self.message_zh
        return {
            "code": self.code,
            "message": message,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


def install_error_handlers(api: NinjaAPI) -> None:
    from django.core.exceptions import PermissionDenied
    from django.http import Http404
    from ninja.errors import AuthenticationError, ValidationError

    from onewindow.core.errors import FieldErrors, RuleViolation

    # Ninja's annotation widens each handler's argument to ``Exc | type[Exc]``; it always passes the instance.
    def on_api_error(request: HttpRequest, exc: object) -> HttpResponse:
        error = cast("ApiError", exc)
        return api.create_response(request, error.body(), status=error.status)

    def on_denied(request: HttpRequest, exc: object) -> HttpResponse:
        error = ApiError(403, "permission_denied", "您无权执行此操作。", "You are not allowed to do this.")
        return api.create_response(request, error.body(), status=403)

    def on_not_found(request: HttpRequest, exc: object) -> HttpResponse:
        error = ApiError(404, "not_found", "未找到。", "Not found.")
        return api.create_response(request, error.body(), status=404)

    def on_unauthenticated(request: HttpRequest, exc: object) -> HttpResponse:
        error = ApiError(
            401,
            "not_authenticated",
            "请先登录或提供有效的访问令牌。",
            "Sign in or give a valid bearer token.",
        )
        return api.create_response(request, error.body(), status=401)

    def on_validation(request: HttpRequest, exc: object) -> HttpResponse:
        body = ApiError(422, "invalid_request", "请求内容不正确。", "The request is not valid.").body()
        return api.create_response(
            request, {**body, "errors": cast("ValidationError", exc).errors}, status=422
        )

    def on_rule_violation(request: HttpRequest, exc: object) -> HttpResponse:
        violation = cast("RuleViolation", exc)
        error = ApiError(violation.status, str(violation.code), violation.message_zh, violation.message_en)
        body: dict[str, object] = dict(error.body())
        if violation.field:
            body["field"] = violation.field
        return api.create_response(request, body, status=error.status)

    def on_field_errors(request: HttpRequest, exc: object) -> HttpResponse:
        invalid = cast("FieldErrors", exc)
        body = ApiError(
            422, invalid.code, "提交的内容有误，请按提示修改。", "Some fields are not valid; see errors."
        ).body()
        return api.create_response(
            request, {**body, "errors": [error.as_dict() for error in invalid.errors]}, status=422
        )

    api.add_exception_handler(RuleViolation, on_rule_violation)
    api.add_exception_handler(FieldErrors, on_field_errors)
    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(PermissionDenied, on_denied)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(AuthenticationError, on_unauthenticated)
    api.add_exception_handler(ValidationError, on_validation)
