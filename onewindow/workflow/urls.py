"""The back office's pages: /tasks/ (inbox and handling), /supervision/, /extensions/, /delegations/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.workflow import views, views_oversight

app_name = "workflow"
urlpatterns: list[URLPattern | URLResolver] = [
    path("tasks/", views.inbox, name="inbox"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/<int:task_id>/claim/", views.task_claim_view, name="claim"),
    path("tasks/<int:task_id>/release/", views.task_release_view, name="release"),
    path("tasks/<int:task_id>/complete/", views.task_complete_view, name="complete"),
    path("tasks/<int:task_id>/suspend/", views.task_suspend_view, name="suspend"),
    path("tasks/<int:task_id>/resume/", views.task_resume_view, name="resume"),
    path("tasks/<int:task_id>/extension/", views.task_extension_view, name="extension_request"),
    path("tasks/<int:task_id>/reassign/", views.task_reassign_view, name="reassign"),
    path("supervision/", views_oversight.supervision_index, name="supervision"),
    path("supervision/tasks/", views_oversight.supervision_task_list, name="supervision_tasks"),
    path("extensions/", views_oversight.extension_list, name="extensions"),
    path(
        "extensions/<int:extension_id>/decide/",
        views_oversight.extension_decide_view,
        name="extension_decide",
    ),
    path("delegations/", views_oversight.delegation_list, name="delegations"),
    path(
        "delegations/<int:delegation_id>/revoke/",
        views_oversight.delegation_revoke_view,
        name="delegation_revoke",
    ),
]
