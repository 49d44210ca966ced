"""Public service guides and search, mounted at /services/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.services import views

app_name = "services"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.catalogue, name="catalogue"),
    path("<str:code>/", views.guide, name="guide"),
]
