from django.urls import path

from onewindow.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.record_search, name="search"),
    path("export.csv", views.record_export, name="export"),
    path("<int:seq>/", views.record_detail, name="detail"),
]
