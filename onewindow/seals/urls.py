from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.seals import views

app_name = "seals"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.seals_public, name="public"),
    path("root-ca.pem", views.root_certificate_pem, name="root_pem"),
    path("root-ca.crl", views.crl_der, name="crl"),
    path("manage/", views.manage_index, name="manage"),
    path("manage/<str:code>/", views.department_seals, name="department"),
    path("manage/<str:code>/rotate/", views.seal_rotate, name="rotate"),
    path("manage/<str:code>/holders/", views.holder_appoint, name="holder_appoint"),
    path("manage/<str:code>/holders/<str:username>/remove/", views.holder_remove, name="holder_remove"),
    path("seal/<int:seal_id>/revoke/", views.seal_revoke, name="revoke"),
    path("seal/<int:seal_id>/image/", views.seal_image_upload, name="image_upload"),
    path("seal/<int:seal_id>/image.png", views.seal_image, name="image"),
]
