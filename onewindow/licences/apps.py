from django.apps import AppConfig


class LicencesConfig(AppConfig):
    name = "onewindow.licences"
    label = "licences"
    verbose_name = "Licences (电子证照)"
