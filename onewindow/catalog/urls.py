"""Resource catalog pages at /catalog/ (a code keeps its slash: /catalog/resources/101001/000001/)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.catalog import (
    converters,  # noqa: F401 - registers the rescode converter
    views,
    views_sharing,
)

app_name = "catalog"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.catalogue, name="catalogue"),
    path("resources/<rescode:code>/", views.resource_detail, name="resource"),
    # Sharing, grants, the systems register and supervision (issue #7 items 4–6).
    path("resources/<rescode:code>/share/", views_sharing.share_request_new, name="share_request_new"),
    path("share-requests/", views_sharing.share_request_list, name="share_requests"),
    path("share-requests/<int:request_id>/", views_sharing.share_request_detail, name="share_request"),
    path("grants/", views_sharing.grant_list, name="grants"),
    path("grants/<int:grant_id>/revoke/", views_sharing.grant_revoke, name="grant_revoke"),
    path("systems/", views_sharing.system_list, name="systems"),
    path("systems/<int:system_id>/", views_sharing.system_detail, name="system"),
    path(
        "systems/<int:system_id>/conformance/",
        views_sharing.system_conformance_run,
        name="system_conformance_run",
    ),
    path("supervision/", views_sharing.catalog_supervision, name="supervision"),
]
