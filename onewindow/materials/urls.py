from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.materials import views

app_name = "materials"
urlpatterns: list[URLPattern | URLResolver] = [
    path("<uuid:material_id>/", views.material_download, name="download"),
]
