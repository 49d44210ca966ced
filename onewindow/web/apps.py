from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "onewindow.web"
    label = "web"
    verbose_name = "Web front end"
