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

from onewindow.accounts.api import auth_router, me_router  # noqa: E402 - routers import models

api.add_router("/auth/", auth_router)  # /api/v1/auth/token
api.add_router("/", me_router)  # /api/v1/me

from onewindow.workcalendar.api import router as calendar_router  # noqa: E402

api.add_router("/calendar/", calendar_router)  # /api/v1/calendar/...

from onewindow.audit.api import router as audit_router  # noqa: E402

api.add_router("/audit/", audit_router)  # /api/v1/audit/...

from onewindow.organisations.api import router as organisations_router  # noqa: E402

api.add_router("/organisations/", organisations_router)  # /api/v1/organisations/...

from onewindow.applications.api import router as applications_router  # noqa: E402
from onewindow.materials.api import router as materials_router  # noqa: E402
from onewindow.notifications.api import router as notifications_router  # noqa: E402
from onewindow.services.api import router as services_router  # noqa: E402

api.add_router("/", services_router)  # /api/v1/services, /api/v1/admin/services
api.add_router("/", materials_router)  # /api/v1/materials
api.add_router("/", applications_router)  # /api/v1/applications, /api/v1/reviews
api.add_router("/", notifications_router)  # /api/v1/notifications

from onewindow.workflow.api import router as workflow_router  # noqa: E402

api.add_router("/", workflow_router)  # /api/v1/tasks, /api/v1/supervision, /api/v1/processes, …

from onewindow.registry.api import router as registry_router  # noqa: E402

api.add_router("/registry/", registry_router)  # /api/v1/registry/...

from onewindow.seals.api import router as seals_router  # noqa: E402

api.add_router("/seals/", seals_router)  # /api/v1/seals/...

from onewindow.catalog.api import router as catalog_router  # noqa: E402

api.add_router("/catalog/", catalog_router)  # /api/v1/catalog/...

from onewindow.licences.api import router as licences_router  # noqa: E402

api.add_router("/licenses/", licences_router)  # /api/v1/licenses/... (verify, revoke)

from onewindow.pubsub.api import deliveries_router, subscriptions_router  # noqa: E402

api.add_router("/exchange/deliveries", deliveries_router)  # /api/v1/exchange/deliveries (status)
api.add_router("/exchange/subscriptions", subscriptions_router)  # /api/v1/exchange/subscriptions/...

from onewindow.messagelog.api import router as messagelog_router  # noqa: E402

api.add_router("/exchange/log", messagelog_router)  # /api/v1/exchange/log (docs/messagelog.md)

from onewindow.exchange.api import router as exchange_router  # noqa: E402

api.add_router("/exchange/", exchange_router)  # /api/v1/exchange/meta/..., key administration

from onewindow.exchange.api_adapter import router as exchange_adapter_router  # noqa: E402

api.add_router("/exchange/", exchange_adapter_router)  # /api/v1/exchange/meta/gateway/keys, keys/register

from onewindow.federation.api import router as federation_router  # noqa: E402

api.add_router("/federation/", federation_router)  # /api/v1/federation/... (docs/federation.md)
