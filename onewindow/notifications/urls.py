from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.notifications import views

app_name = "notifications"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.notification_list, name="list"),
    path("read-all/", views.notification_read_all, name="read_all"),
]
