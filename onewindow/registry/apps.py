from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "onewindow.registry"
    label = "registry"
    verbose_name = "Base registries (population, legal entities)"
