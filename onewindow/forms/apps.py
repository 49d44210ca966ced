from django.apps import AppConfig


class FormsConfig(AppConfig):
    name = "onewindow.forms"
    label = "onewindow_forms"
    verbose_name = "Forms (JSON Schema)"
