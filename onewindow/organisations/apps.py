from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "onewindow.organisations"
    label = "organisations"
    verbose_name = "Organisations"
