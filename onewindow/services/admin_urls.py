from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "services_admin"
urlpatterns: list[URLPattern | URLResolver] = []
