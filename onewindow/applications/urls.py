from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.applications import views

app_name = "applications"
urlpatterns: list[URLPattern | URLResolver] = [
    path("applications/", views.application_list, name="mine"),
    path("applications/new/<str:code>/", views.application_new, name="new"),
    path("applications/<str:tracking_no>/", views.application_detail, name="detail"),
    path("applications/<str:tracking_no>/receipt/", views.application_receipt, name="receipt"),
    path("applications/<str:tracking_no>/supplement/", views.application_supplement_view, name="supplement"),
    path("applications/<str:tracking_no>/withdraw/", views.application_withdraw_view, name="withdraw"),
    path("applications/<str:tracking_no>/review/", views.application_review_view, name="review"),
    path("window/", views.window_index, name="window_index"),
    path("window/apply/", views.window_apply, name="window_apply"),
    path("window/<str:tracking_no>/", views.window_application, name="window_application"),
    path("window/<str:tracking_no>/accept/", views.window_accept, name="window_accept"),
    path("window/<str:tracking_no>/refuse/", views.window_refuse, name="window_refuse"),
    path("window/<str:tracking_no>/supplement/", views.window_request_supplement, name="window_supplement"),
    path("agent/", views.agent_index, name="agent_index"),
    path("agent/apply/", views.agent_apply, name="agent_apply"),
    path("reviews/follow-ups/", views.follow_up_list, name="follow_ups"),
    path("reviews/follow-ups/<int:pk>/answer/", views.follow_up_answer, name="follow_up_answer"),
    path("reviews/stats/", views.review_stats_view, name="review_stats"),
]
