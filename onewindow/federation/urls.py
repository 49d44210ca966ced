from django.urls import path, re_path

from onewindow.federation import views

app_name = "federation"

# Mounted at /federation/ (config/urls.py); the API is at /api/v1/federation/.
urlpatterns = [
    re_path(r"^exchange/v1/(?P<service_path>CN/.+)$", views.outbound_call, name="outbound"),
    re_path(r"^v1/inbound/(?P<service_path>CN/.+)$", views.inbound_call, name="inbound"),
    path("v1/events/pull", views.events_pull, name="events_pull"),
]
