from django.conf.urls.i18n import i18n_patterns  # noqa: F401
from django.urls import include, path

from config.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("onewindow.accounts.urls")),
    path("", include("onewindow.core.urls")),  # /healthz, /readyz, /metrics
    path("admin/calendar/", include("onewindow.workcalendar.urls")),
    path("audit/", include("onewindow.audit.urls")),
    path("admin/organisations/", include("onewindow.organisations.urls")),
    path("admin/services/", include("onewindow.services.admin_urls")),
    path("services/", include("onewindow.services.urls")),  # public service guides and search
    path("materials/", include("onewindow.materials.urls")),
    path("notifications/", include("onewindow.notifications.urls")),
    path("registry/", include("onewindow.registry.urls")),  # population and legal-entity registers
    path("catalog/", include("onewindow.catalog.urls")),  # resource catalog: search, browse, metadata
    path("admin/processes/", include("onewindow.workflow.process_urls")),  # BPMN editor and versions
    path("cases/", include("onewindow.workflow.diagram_urls")),  # a case's live position on its diagram
    path("", include("onewindow.workflow.urls")),  # /tasks/, /supervision/, /delegations/
    path("", include("onewindow.applications.urls")),  # /applications/, /window/, /agent/
    path("seals/", include("onewindow.seals.urls")),  # root certificate, CRL, revoked seals, seal admin
    path("licences/", include("onewindow.licences.urls")),  # public licence verification, revocation
    path("exchange/subscriptions/", include("onewindow.pubsub.urls")),  # event subscriptions, dead letters
    path("exchange/", include("onewindow.exchange.urls")),  # signed exchange calls
    path("federation/", include("onewindow.federation.urls")),  # calls and events across OneWindow nodes
    path("", include("onewindow.web.urls")),
]
