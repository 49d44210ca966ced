from django.apps import AppConfig


class SealsConfig(AppConfig):
    name = "onewindow.seals"
    label = "seals"
    verbose_name = "Electronic seals"

    def ready(self) -> None:
        # Registers the deployment check that refuses the development master key in production.
        from onewindow.seals import checks  # noqa: F401
