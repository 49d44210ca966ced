from django.apps import AppConfig


class PubsubConfig(AppConfig):
    name = "onewindow.pubsub"
    label = "pubsub"
    verbose_name = "Exchange publish/subscribe"
