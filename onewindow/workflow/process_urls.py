"""The process editor and process versions, mounted at /admin/processes/ (views_processes.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.workflow import views_processes as views

app_name = "processes"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.process_index, name="index"),
    path("upload/", views.process_upload, name="upload"),
    path("<str:key>/editor/", views.process_editor, name="editor"),
    path("<str:key>/editor/validate/", views.process_editor_validate, name="editor_validate"),
    path("<str:key>/editor/save/", views.process_editor_save, name="editor_save"),
    path("<str:key>/versions/<int:version>/", views.process_version, name="version"),
    path("<str:key>/versions/<int:version>/bpmn/", views.process_version_bpmn, name="bpmn"),
    path("<str:key>/versions/<int:version>/dmn/", views.process_version_dmn, name="dmn"),
    path("<str:key>/versions/<int:version>/publish/", views.process_version_publish, name="publish"),
]
