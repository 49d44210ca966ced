"""A case's live position on its process diagram, mounted at /cases/ (views_processes.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.workflow import views_processes as views

app_name = "diagram"
urlpatterns: list[URLPattern | URLResolver] = [
    path("<str:tracking_no>/diagram/", views.case_diagram_page, name="case"),
    path("<str:tracking_no>/diagram.json", views.case_diagram_json, name="case_json"),
]
