from django.apps import AppConfig


class WorkCalendarConfig(AppConfig):
    name = "onewindow.workcalendar"
    label = "workcalendar"
    verbose_name = "Working-day calendar"
