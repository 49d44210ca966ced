from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "onewindow.core"
    label = "core"
    verbose_name = "OneWindow core"

    def ready(self) -> None:
        from onewindow.core.logging import configure_structlog  # noqa: PLC0415

        configure_structlog()
