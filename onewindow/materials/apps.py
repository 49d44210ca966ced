from django.apps import AppConfig


class MaterialsConfig(AppConfig):
    name = "onewindow.materials"
    label = "materials"
    verbose_name = "Materials (uploads)"
