from django.urls import path

from onewindow.workcalendar import views

app_name = "workcalendar"

urlpatterns = [
    path("", views.year_list, name="years"),
    path("<int:year>/", views.year_detail, name="year"),
    path("import/", views.import_file, name="import"),
    path("compute/", views.compute, name="compute"),
]
