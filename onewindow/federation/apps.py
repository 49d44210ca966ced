from django.apps import AppConfig


class FederationConfig(AppConfig):
    name = "onewindow.federation"
    label = "federation"
    verbose_name = "Federation of OneWindow nodes"
