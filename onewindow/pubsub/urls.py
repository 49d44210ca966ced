from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.pubsub import views

app_name = "pubsub"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.subscriptions_index, name="subscriptions"),
    path("<slug:code>/", views.subscription_detail, name="subscription"),
    path("<slug:code>/replay/", views.dead_letters_replay, name="replay"),
]
