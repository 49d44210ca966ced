from django.apps import AppConfig


class PubsubConfig(AppConfig):
    name = "onewindow.pubsub"
    label = "pubsub"
    verbose_name = "Exchange publish/subscribe"

    def ready(self) -> None:
        # Backlog and dead letters per subscription on /metrics (onewindow/pubsub/exposition.py).
        from onewindow.pubsub.exposition import collector_register

        collector_register()
