from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "onewindow.notifications"
    label = "notifications"
    verbose_name = "Notifications"
