"""The HTTP API root: /api/v1/ (OpenAPI 3 at /api/v1/openapi.json, interactive docs at /api/v1/docs)."""

from __future__ import annotations

from ninja import NinjaAPI

from onewindow.core.api_errors import install_error_handlers

api = NinjaAPI(
    title="OneWindow API",
    version="1.0.0",
    description=(
        "One window in front, collaborating departments behind. Errors are `{code, message, message_en}` "
        "objects; authenticate with `Authorization: Bearer <token>` from `POST /api/v1/auth/token`."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)

install_error_handlers(api)
