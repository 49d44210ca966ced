from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "onewindow.outbox"
    label = "outbox"
    verbose_name = "Transactional outbox of domain events"
