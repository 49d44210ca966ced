from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from onewindow.exchange import views

app_name = "exchange"

# A service's id is CN/GOV/{member}/{subsystem}/{code} (docs/exchange.md); the pages use it as it is.
SERVICE = "services/CN/GOV/<str:member>/<str:subsystem>/<str:code>/"

urlpatterns: list[URLPattern | URLResolver] = [
    # Metaservices (discovery) are under the API router: /api/v1/exchange/meta/...
    re_path(r"^v1/(?P<service_path>CN/.+)$", views.exchange_call, name="call"),
    # Admin pages (docs/exchange.md "Pages"); /exchange/subscriptions/ is publish/subscribe's.
    path("services/", views.services_index, name="services"),
    path("services/new/", views.service_create, name="service_create"),
    path(SERVICE, views.service_detail, name="service"),
    path(f"{SERVICE}edit/", views.service_edit, name="service_edit"),
    path(f"{SERVICE}deactivate/", views.service_deactivate, name="service_deactivate"),
    path(f"{SERVICE}reactivate/", views.service_reactivate, name="service_reactivate"),
    path(f"{SERVICE}openapi/", views.service_openapi, name="service_openapi"),
    path("systems/", views.systems_index, name="systems"),
    path("systems/<str:code>/keys/", views.system_keys, name="system_keys"),
    path("systems/<str:code>/keys/issue/", views.system_key_issue, name="key_issue"),
    path("keys/<str:key_id>/revoke/", views.key_revoke, name="key_revoke"),
    path("gateway-keys/", views.gateway_keys, name="gateway_keys"),
    path("gateway-keys/issue/", views.gateway_key_issue, name="gateway_key_issue"),
    path("gateway-keys/<str:key_id>/revoke/", views.gateway_key_revoke, name="gateway_key_revoke"),
]
