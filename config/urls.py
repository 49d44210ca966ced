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
    path("", include("onewindow.web.urls")),
]
