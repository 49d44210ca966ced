from django.urls import path, re_path

from onewindow.federation import views, views_admin

app_name = "federation"

# Mounted at /federation/ (config/urls.py); the API is at /api/v1/federation/.
urlpatterns = [
    re_path(r"^exchange/v1/(?P<service_path>CN/.+)$", views.outbound_call, name="outbound"),
    re_path(r"^v1/inbound/(?P<service_path>CN/.+)$", views.inbound_call, name="inbound"),
    path("v1/events/pull", views.events_pull, name="events_pull"),
    # Admin pages (docs/federation.md "Pages"): system administrators.
    path("admin/", views_admin.node, name="admin_node"),
    path("admin/node/keys/issue/", views_admin.node_key_issue, name="admin_node_key_issue"),
    path("admin/peers/", views_admin.peers_index, name="admin_peers"),
    path("admin/peers/new/", views_admin.peer_register, name="admin_peer_register"),
    path("admin/peers/<str:instance>/", views_admin.peer_detail, name="admin_peer"),
    path("admin/peers/<str:instance>/revoke/", views_admin.peer_revoke, name="admin_peer_revoke"),
    path("admin/peers/<str:instance>/refresh/", views_admin.peer_refresh, name="admin_peer_refresh"),
    path("admin/peers/<str:instance>/replay/", views_admin.peer_replay, name="admin_peer_replay"),
    path(
        "admin/peers/<str:instance>/crl/refresh/", views_admin.peer_crl_refresh, name="admin_peer_crl_refresh"
    ),
    path("admin/grants/", views_admin.grants_index, name="admin_grants"),
    path("admin/grants/new/", views_admin.grant_create, name="admin_grant_create"),
    path("admin/grants/<int:grant_id>/revoke/", views_admin.grant_revoke, name="admin_grant_revoke"),
]
