from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "onewindow.exchange"
    label = "exchange"
    verbose_name = "Exchange"
