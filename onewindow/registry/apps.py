from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "onewindow.registry"
    label = "registry"
    verbose_name = "Base registries (population, legal entities)"

    def ready(self) -> None:
        # Registers the registries' service-task actions (enterprise_register) with the workflow engine.
        from onewindow.registry import service_actions  # noqa: F401
