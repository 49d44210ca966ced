"""Department administrators' catalog pages, mounted at /admin/services/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.services import views

app_name = "services_admin"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.admin_index, name="index"),
    path("new/", views.admin_create, name="create"),
    path("<str:code>/", views.admin_service, name="service"),
    path("<str:code>/draft/", views.admin_draft, name="draft"),
    path("<str:code>/draft/new/", views.admin_draft_new, name="draft_new"),
    path("<str:code>/versions/<int:number>/", views.admin_version, name="version"),
]
