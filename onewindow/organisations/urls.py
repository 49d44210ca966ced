"""Administration pages, mounted at /admin/organisations/."""

from django.urls import path

from onewindow.organisations import views

app_name = "organisations"

urlpatterns = [
    path("", views.admin_index, name="admin_index"),
    path("departments/", views.department_list, name="department_list"),
    path("departments/new/", views.department_create, name="department_create"),
    path("departments/<str:code>/edit/", views.department_edit, name="department_edit"),
    path("departments/<str:code>/staff/", views.department_memberships, name="department_memberships"),
    path("memberships/<int:pk>/revoke/", views.membership_revoke, name="membership_revoke"),
    path("service-points/", views.service_point_list, name="service_point_list"),
    path("service-points/new/", views.service_point_create, name="service_point_create"),
    path("service-points/<str:code>/edit/", views.service_point_edit, name="service_point_edit"),
    path("divisions/", views.division_list, name="division_list"),
    path("divisions/<str:code>/", views.division_detail, name="division_detail"),
    path("divisions/<str:code>/new/", views.division_create, name="division_create"),
]
