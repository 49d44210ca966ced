from django.urls import path

from onewindow.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("start/", views.start, name="start"),
    path("resident/", views.resident_home, name="resident"),
    path("enterprise/", views.enterprise_home, name="enterprise"),
    path("workbench/", views.workbench, name="workbench"),
    path("leader/", views.leader_home, name="leader"),
    path("auditor/", views.auditor_home, name="auditor"),
    path("supervisor/", views.supervisor_home, name="supervisor"),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("display/large-text/", views.large_text, name="large_text"),
]
