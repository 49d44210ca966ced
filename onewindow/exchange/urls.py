from django.urls import path, re_path

from onewindow.exchange import views

app_name = "exchange"

urlpatterns = [
    # Metaservices (discovery) are under the API router: /api/v1/exchange/meta/...
    re_path(r"^v1/(?P<service_path>CN/.+)$", views.exchange_call, name="call"),
]

__all__ = ["path", "urlpatterns"]
