from django.apps import AppConfig


class MessagelogConfig(AppConfig):
    name = "onewindow.messagelog"
    label = "messagelog"
    verbose_name = "Exchange message log"

    def ready(self) -> None:
        # Registers the deployment check that refuses the development payload key in production.
        from onewindow.messagelog import checks  # noqa: F401
