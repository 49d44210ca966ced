"""The registries' pages under /registry/ (config/urls.py includes them).

Paths follow issue #5: no ID number in any path (a person is named by internal id after a POST lookup);
credit codes are public, so they may be.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.registry import views

app_name = "registry"

urlpatterns: list[URLPattern | URLResolver] = [
    path("persons/", views.person_lookup, name="persons"),
    path("persons/births/new", views.person_birth, name="person_birth"),
    path("persons/<int:person_id>/", views.person_detail, name="person"),
    path("persons/<int:person_id>/transfer", views.person_transfer, name="person_transfer"),
    path("persons/<int:person_id>/death", views.person_death, name="person_death"),
    path("persons/<int:person_id>/rename", views.person_rename, name="person_rename"),
    path("persons/<int:person_id>/correct", views.person_correct, name="person_correct"),
    path("entities/", views.entity_lookup, name="entities"),
    path("entities/new", views.entity_register, name="entity_register"),
    path("entities/<str:credit_code>/", views.entity_detail, name="entity"),
    path("entities/<str:credit_code>/change", views.entity_change, name="entity_change"),
    path("entities/<str:credit_code>/cancel", views.entity_cancel, name="entity_cancel"),
]
