from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "onewindow.applications"
    label = "applications"
    verbose_name = "Applications (办件)"
