from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "onewindow.services"
    label = "services"
    verbose_name = "Service catalog"
